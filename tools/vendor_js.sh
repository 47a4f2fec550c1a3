#!/usr/bin/env bash
# Refresh the browser assets the book serves itself (see book/_static/vendor/README.md).
# Needs npm and network access to the npm registry; run by a maintainer, never by the build.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=book/_static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @jupyter-widgets/html-manager@1.0.15 mathjax@3.2.2 >/dev/null)
mkdir -p "$tmp/hm" "$tmp/mj"
tar xzf "$tmp"/jupyter-widgets-html-manager-1.0.15.tgz -C "$tmp/hm"
tar xzf "$tmp"/mathjax-3.2.2.tgz -C "$tmp/mj"
rm -rf "$dest/jupyter-widgets" "$dest/mathjax"
mkdir -p "$dest/jupyter-widgets" "$dest/mathjax/output/chtml/fonts" "$dest/mathjax/input/tex"
cp "$tmp"/hm/package/dist/{embed.js,embed.js.LICENSE.txt} "$tmp"/hm/package/dist/*.woff2 \
   "$tmp"/hm/package/dist/*.woff "$dest/jupyter-widgets/"
es5="$tmp/mj/package/es5"
cp "$es5/tex-chtml.js" "$tmp/mj/package/LICENSE" "$dest/mathjax/"
cp -r "$es5/output/chtml/fonts/woff-v2" "$dest/mathjax/output/chtml/fonts/"
cp -r "$es5/input/tex/extensions" "$dest/mathjax/input/tex/"
echo "vendored assets refreshed in $dest"
