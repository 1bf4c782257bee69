#!/bin/sh
# Install this socialdesk bundle on Linux: ./install.sh [PREFIX]   (default PREFIX: ~/.local, one user;
# /usr/local for everyone, run as root). Copied into the bundle by packaging/build.py.
#
# Puts the bundle in PREFIX/lib/socialdesk, a `socialdesk` link in PREFIX/bin, and the desktop entry,
# AppStream metadata and icons under PREFIX/share, where launchers, software centres and notification
# servers look for them. Exec= names the installed program by its full path, so the launcher works
# even when PREFIX/bin is not on the desktop session's PATH. Uninstall: remove those same paths.
set -eu

prefix="${1:-$HOME/.local}"
here="$(cd "$(dirname "$0")" && pwd)"
app="$prefix/lib/socialdesk"

mkdir -p "$prefix/lib" "$prefix/bin"
if [ "$here" != "$app" ]; then
    rm -rf "$app"
    cp -R "$here" "$app"
fi
ln -sf "$app/socialdesk" "$prefix/bin/socialdesk"
for entry in "$here"/share/applications/*.desktop; do
    mkdir -p "$prefix/share/applications"
    # Quoted, as the Desktop Entry spec asks for a path that may hold spaces (not: " ` $ \\ | &).
    sed "s|^Exec=socialdesk|Exec=\"$app/socialdesk\"|" "$entry" > "$prefix/share/applications/$(basename "$entry")"
done
mkdir -p "$prefix/share/metainfo" "$prefix/share/icons"
cp "$here"/share/metainfo/*.xml "$prefix/share/metainfo/"
cp -R "$here/share/icons/hicolor" "$prefix/share/icons/"

# Refresh the caches where the tools exist (optional: desktops also rescan changed folders). The icon
# cache only where the theme has its index (a system prefix): a cache written into ~/.local would go
# stale when other apps add icons there without refreshing it, and hide theirs.
if [ -f "$prefix/share/icons/hicolor/index.theme" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q "$prefix/share/icons/hicolor" || true
fi
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$prefix/share/applications" || true
fi
echo "Installed socialdesk in $app; start it with $prefix/bin/socialdesk or from the applications menu."
