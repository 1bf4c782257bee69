# Replaces PyInstaller's own hook for PySide6.QtGui (hooks given by the spec take priority): the same
# collection, minus the Qt plugins socialdesk never loads. Dropping them here, before PyInstaller follows
# the plugins' shared-library dependencies, also keeps out what only they pull in:
# - platforminputcontexts/libqtvirtualkeyboardplugin: links Qt VirtualKeyboard, Qml and Quick (~17 MiB);
# - platformthemes/libqgtk3: links the build host's GTK 3 stack (~14 MiB). Without it Qt uses its own
#   style and the XDG desktop portal theme plugin, which needs no extra library;
# - platforms other than xcb, wayland, offscreen and minimal (eglfs, linuxfb, vnc, vkkhrdisplay: embedded
#   devices) and egldeviceintegrations (only eglfs uses them).
import os

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

# File names without "lib" and suffix, so the same names match on Windows (qgtk3 exists only on Linux).
UNUSED_PLUGINS = {"qtvirtualkeyboardplugin", "qgtk3", "qeglfs", "qlinuxfb", "qvnc", "qvkkhrdisplay", "qminimalegl"}
UNUSED_PLUGIN_TYPES = {"egldeviceintegrations"}


def _wanted(src: str, dest: str) -> bool:
    name = os.path.basename(src).split(".")[0].removeprefix("lib")
    plugin_type = os.path.basename(dest)
    return name not in UNUSED_PLUGINS and plugin_type not in UNUSED_PLUGIN_TYPES


hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [(src, dest) for src, dest in binaries if _wanted(src, dest)]
