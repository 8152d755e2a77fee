"""emplifai.solvers"""
