"""python -m formapp [--host H] [--port P]: the residents' proposal form on its own (uvicorn).

example: SC_INBOX=/srv/sc/inbox SC_PUBLIC_DIR=/srv/sc/public SC_FORM_SECRET=... python -m formapp --host 0.0.0.0
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

from pipeline import settings


def main(argv: list[str] | None = None) -> int:
    form_settings = [(env, value, help_) for env, value, help_ in settings.describe()
                     if env.startswith("SC_FORM_") or env in ("SC_INBOX", "SC_PUBLIC_DIR", "SC_LANG")]
    parser = argparse.ArgumentParser(
        prog="python -m formapp", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The residents' public proposal form: accepts proposals into the inbox (SC_INBOX) and "
                    "reads only what the staff side publishes (SC_PUBLIC_DIR). It never opens the database.",
        epilog="settings (environment variables):\n" + "\n".join(
            f"  {env:<28} {help_}" for env, _, help_ in form_settings) +
        "\n\nexample: SC_INBOX=/srv/sc/inbox SC_PUBLIC_DIR=/srv/sc/public python -m formapp --host 0.0.0.0")
    parser.add_argument("--host", help="address to listen on (default: SC_FORM_HOST)")
    parser.add_argument("--port", type=int, help="port (default: SC_FORM_PORT)")
    args = parser.parse_args(argv)

    import uvicorn

    from formapp.app import create_app
    from formapp.config import FormConfig

    try:
        config = FormConfig.from_settings()
    except ValueError as exc:
        print(f"error: a SC_FORM_* setting that must be a number is not ({exc})", file=sys.stderr)
        return 2
    config = dataclasses.replace(config, host=args.host or config.host, port=args.port or config.port)
    try:
        (config.inbox / "tmp").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot create the inbox {config.inbox} ({exc.strerror}); set SC_INBOX to a folder "
              f"this process may write", file=sys.stderr)
        return 2
    print(f"Residents' proposal form on http://{config.host}:{config.port}; proposals go to {config.inbox}, "
          f"published files are read from {config.public}", flush=True)
    # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1; the form
    # decides itself whom to believe (SC_FORM_TRUSTED_PROXIES).
    uvicorn.run(create_app(config), host=config.host, port=config.port, proxy_headers=False,
                server_header=False, date_header=True, access_log=False, log_level="warning",
                timeout_keep_alive=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
