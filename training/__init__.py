"""emplifai.training"""
