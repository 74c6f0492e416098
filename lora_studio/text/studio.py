STUDIO: dict[str, tuple[str, str]] = {}
