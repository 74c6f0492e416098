LESSON: dict[str, tuple[str, str]] = {}
