"""``python -m geosafe``."""

if __name__ == "__main__":  # not when another module imports it (multiprocessing's spawn would)
    from geosafe.cli import run

    run()
