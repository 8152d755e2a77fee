"""Registry names for the project's tasks: always ``emplifai/<name>``, installed or editable.

Inspect prefixes a task's name with its package only when it can tie the package to an installed
distribution of the same name. Ours is distributed as ``emplifai-bench`` and, in an editable
install, lives outside site-packages, so Inspect would register a bare ``emotion`` and
``inspect eval emplifai/emotion`` would find nothing. We add the prefix ourselves exactly when
Inspect would not, so the name is the same however the project was installed.
"""

from __future__ import annotations

PACKAGE = "emplifai"


def task_name(name: str) -> str:
    try:
        from inspect_ai._util.package import get_installed_package_name

        import emplifai
    except ImportError:  # the private helper moved: prefixing ourselves is the safe default
        return f"{PACKAGE}/{name}"
    return name if get_installed_package_name(emplifai) == PACKAGE else f"{PACKAGE}/{name}"
