"""``python -m course_utils.audio.music extract`` or ``... train``: runs
:func:`course_utils.audio.music.cli.main`."""

from course_utils.audio.music.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
