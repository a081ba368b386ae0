"""Tiny training sets shared by the training tests."""

PAIRS = [
    ("A man is eating food.", "A man is eating a piece of bread."),
    ("A man is riding a horse.", "A man is riding a white horse on an enclosed ground."),
    ("A monkey is playing drums.", "Someone in a gorilla costume is playing a set of drums."),
    ("How do I reset my password?", "Where can I download my invoices?"),
    ("The stock market fell today.", "Weather is sunny and warm."),
    ("The cat sits on the mat.", "zebras giraffes lions elephants"),
]
SCORED = [(a, b, s) for (a, b), s in zip(PAIRS, [0.9, 0.8, 0.7, 0.2, 0.1, 0.0], strict=False)]
LABELLED = [(a, b, int(s > 0.5)) for a, b, s in SCORED]
TRIPLETS = [(a, b, PAIRS[(i + 3) % 6][1]) for i, (a, b) in enumerate(PAIRS)]
SENTENCES = [(x,) for pair in PAIRS for x in pair]
CLASSES = [(x, i // 4) for i, (x,) in enumerate(SENTENCES)]
