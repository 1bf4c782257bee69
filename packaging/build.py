"""Build the one-folder desktop bundle: `python packaging/build.py [--dist DIR] [--work DIR]`.

Owns the release build's steps, in order: PyInstaller on packaging/socialdesk.spec into
`<dist>/socialdesk/`; on Linux, the freedesktop files a system install needs, laid out as under a prefix
(`share/applications`, `share/metainfo`, `share/icons/hicolor/<N>x<N>/apps` and `scalable/apps`, all
named by socialdesk.DESKTOP_ID) plus `install.sh`, which copies them into place; and last the bundle's
size, printed (the Linux budget is 200 MiB, see packaging/README.md).

Decisions:
- A Python entry point rather than shell, so the same command builds on Windows and macOS;
  packaging/build.sh is the one-line Linux wrapper. `--dist`/`--work` default to the repository's
  gitignored dist/ and build/ (the bundle test passes a temporary directory).
- The PNG icons are rendered from the project's SVG by the app's own renderer (socialdesk.ui.icons), so
  the launcher, the window and the tray show one mark; they are build output, never committed copies.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGING = Path(__file__).resolve().parent
ROOT = PACKAGING.parent
SPEC = PACKAGING / "socialdesk.spec"
BUDGET_MIB = 200


def tree_size(folder: Path) -> int:
    """Bytes of the files under `folder` as unpacked (symlinks counted once, as links)."""
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file() or path.is_symlink())


def run_pyinstaller(dist: Path, work: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(dist), "--workpath", str(work), str(SPEC)],
        cwd=ROOT,
        check=True,
    )
    return dist / "socialdesk"


def add_freedesktop_files(bundle: Path) -> None:
    """share/… for a system install (Linux): desktop entry, AppStream metadata, hicolor icons, install.sh."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # rendering needs no display
    from PySide6.QtGui import QGuiApplication

    from socialdesk import DESKTOP_ID
    from socialdesk.ui import icons

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (QPainter needs the application)
    share = bundle / "share"
    for sub, name in (("applications", f"{DESKTOP_ID}.desktop"), ("metainfo", f"{DESKTOP_ID}.metainfo.xml")):
        (share / sub).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGING / name, share / sub / name)
    hicolor = share / "icons" / "hicolor"
    (hicolor / "scalable" / "apps").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "socialdesk" / "resources" / "icons" / "socialdesk.svg",
                    hicolor / "scalable" / "apps" / f"{DESKTOP_ID}.svg")
    for size in icons.APP_ICON_SIZES:
        folder = hicolor / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        if not icons.app_image(size).save(str(folder / f"{DESKTOP_ID}.png"), "PNG"):
            raise RuntimeError(f"could not write the {size} px icon")
    shutil.copyfile(PACKAGING / "install.sh", bundle / "install.sh")
    (bundle / "install.sh").chmod(0o755)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the bundle goes (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder (default: build/)")
    args = parser.parse_args(argv)
    bundle = run_pyinstaller(args.dist.resolve(), args.work.resolve())
    if sys.platform.startswith("linux"):
        add_freedesktop_files(bundle)
    size = tree_size(bundle)
    print(f"Built {bundle}: {size / 2**20:.1f} MiB unpacked (Linux budget {BUDGET_MIB} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
