def test_tiny_encoder_loads(tiny_encoder):
    v = tiny_encoder.encode(["hello world", "the cat sits"])
    assert v.shape == (2, 32)
