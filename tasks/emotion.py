"""Reverse emotion prediction (EmplifAI task 1): given a situation and its two-turn dialogue,
name the patient's emotion out of the 28 GoEmotions labels.

    inspect eval tasks/emotion.py --model <model>
    inspect eval emplifai/emotion --model <model> -T data=my_emplifai.parquet -T fewshot=3
"""

from __future__ import annotations

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import Scorer
from inspect_ai.solver import generate

from emplifai.fewshot import draw_examples
from emplifai.leak import LEAK_MODES, check_leak
from emplifai.params import BUNDLED_DATA, bool_param, choice_param, int_param, str_param
from emplifai.scorers.label_match import label_match
from emplifai.solvers.emotion_prompt import EMOTION_PROMPT_VERSION, emotion_messages, prompt_hash
from emplifai.task_data import load_task_data
from emplifai.taxonomy import BY_LABEL


@task
def emotion(
    data: str | None = BUNDLED_DATA,
    language: str = "ja",
    fewshot: int = 0,
    seed: int = 42,
    columns: str | None = None,
    encoding: str | None = None,
    bertscore: bool = True,
    bertscore_model: str | None = None,
    bertscore_layers: int | None = None,
    fasttext_model: str | None = None,
    checkpoint_split: str | None = None,
    leak: str = "exclude",
) -> Task:
    """Reverse emotion prediction over an EmplifAI-schema dataset.

    Args:
        data: Path (JSONL, CSV, Parquet, a `datasets` folder) or Hugging Face hub id of the data.
            Default: the project's bundled Japanese sample set (not EmplifAI data), also named
            `bundled-sample`; `-T data=null` is refused.
        language: "ja" or "en": the language of the brief and of the label list the model sees.
        fewshot: Number of solved examples shown before each question, drawn (with `seed`) from
            situations other than the question's own.
        seed: Seed for drawing few-shot examples.
        columns: Column mapping for copies whose columns are named otherwise,
            e.g. "emotion=label,patient_1=p1".
        encoding: Text encoding of a CSV/JSONL `data` file, e.g. "cp932" for a Japanese Excel
            export (default: UTF-8 with or without BOM, or UTF-16 with BOM; any other encoding
            is named in the error).
        bertscore: Score BERTScore P/R/F1 of predicted vs gold label (the paper's metric).
        bertscore_model: Model for BERTScore: None = what bert-score picks for `language`
            (needs the hub or a local cache), or a local model folder.
        bertscore_layers: Layer to take embeddings from; required for a local folder that
            bert-score does not know (default: the model's last layer).
        fasttext_model: Path of a fastText `.bin` (e.g. cc.ja.300.bin) to score fastText cosine
            of predicted vs gold label (the paper's other metric); None = not scored.
        checkpoint_split: The `split.json` an SFT run wrote beside its checkpoint (or the
            checkpoint folder). Default: read from the evaluated model's folder when it is one
            (`hf/local -M model_path=<folder>`, `vllm/<folder>`). Dialogues of situations the
            checkpoint trained on (it saw them labelled with their emotion) are handled as
            `leak` says (emplifai/leak.py).
        leak: "exclude" (default) = those dialogues are not scored, and the log's task metadata
            lists their situations; "tag" = scored, each sample's metadata says `trained_on`.
    """
    fewshot = int_param("fewshot", fewshot, min=0)
    seed = int_param("seed", seed)
    bertscore = bool_param("bertscore", bertscore)
    bertscore_model = str_param("bertscore_model", bertscore_model)
    bertscore_layers = int_param("bertscore_layers", bertscore_layers, min=1, optional=True)
    fasttext_model = str_param("fasttext_model", fasttext_model)
    checkpoint_split = str_param("checkpoint_split", checkpoint_split)
    leak = choice_param("leak", leak, LEAK_MODES)
    # Every other parameter is checked above, before any data is read.
    task_data = load_task_data(data, columns=columns, encoding=encoding, language=language)
    data, language, records = task_data.data, task_data.language, task_data.records
    leak_check = check_leak(records, records, checkpoint_split=checkpoint_split, mode=leak, task="emotion")
    trained_meta = "checkpoint_split" in leak_check.metadata

    samples = [
        Sample(
            id=rec.dialogue_id,
            input=emotion_messages(rec, language=language, examples=draw_examples(records, rec, fewshot, seed)),
            target=rec.emotion,
            metadata={
                "emotion": rec.emotion,
                "emotion_ja": BY_LABEL[rec.emotion].ja,
                "group": BY_LABEL[rec.emotion].group,
                "situation_id": rec.situation_id,
                "language": language,
                **({"trained_on": leak_check.trained_on(rec)} if trained_meta else {}),
            },
        )
        for rec in leak_check.kept
    ]

    scorers: list[Scorer] = [label_match()]
    if bertscore:
        from emplifai.scorers.bertscore_label import bertscore_label

        # Building the scorer checks the model is available, before any sample runs.
        scorers.append(bertscore_label(model=bertscore_model, num_layers=bertscore_layers, language=language))
    if fasttext_model:
        from emplifai.scorers.fasttext_label import fasttext_label

        scorers.append(fasttext_label(model_path=fasttext_model, language=language))

    return Task(
        dataset=MemoryDataset(samples, name="emplifai-emotion", location=task_data.location),
        solver=generate(),
        scorer=scorers,
        metadata={
            "prompt_version": EMOTION_PROMPT_VERSION,
            "prompt_hash": prompt_hash(language),
            "n_dialogues": len(records),
            "data_fingerprint": task_data.fingerprint,
            **leak_check.metadata,
        },
    )
