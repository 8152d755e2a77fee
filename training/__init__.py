"""emplifai.training: full-parameter SFT with TRL on EmplifAI-format dialogues (docs/training.md).

sft.py is the script (``emplifai train`` launches it through accelerate); split.py, data.py,
batch.py and model_card.py are its parts, importable without TRL except where noted.
"""
