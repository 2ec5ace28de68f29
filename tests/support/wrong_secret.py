"""A secret one character off the real one, never equal to it (for refusal tests)."""


def one_off(secret: str) -> str:
    return secret[:-1] + ("x" if secret[-1:] != "x" else "y")
