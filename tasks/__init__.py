"""emplifai.tasks"""
