"""emplifai.scorers"""
