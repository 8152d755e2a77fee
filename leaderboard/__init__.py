"""emplifai.leaderboard"""
