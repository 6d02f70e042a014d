"""Keep every page's first load light (tests/test_browser.py: under 800 KB, uncompressed).

* The search index (over 300 KB per language) is fetched when the reader first focuses the
  search box, not on every page load: Material's bundle asks for it at start-up, so the built
  bundle is patched; a page opened from a search result (``?h=``, for the highlight) or a shared
  search (``?q=``) fetches it at once. The build fails if the code it patches is not found.
* So is the search worker (40 KB): it starts when the index arrives.
* KaTeX's MathML keeps the formula for screen readers; the TeX source it also carries
  (``<annotation encoding="application/x-tex">``) is read by nobody here and is dropped.
* Pygments wraps every name in ``<span class="n">``, which Material colours with the code's own
  foreground colour (``--md-code-hl-name-color: var(--md-code-fg-color)``): the bare name
  looks the same and saves 23 bytes a name.
* Figures below the fold load when the reader scrolls to them (``loading="lazy"``).
"""

import re
from pathlib import Path

from mkdocs import plugins
from mkdocs.exceptions import PluginError

_INDEX_AT_START = 'zi=document.forms.namedItem("search")?ks():tt'
_INDEX_ON_FOCUS = (
    'zi=document.forms.namedItem("search")?new F(r=>{let s,on=e=>{e.target instanceof Element&&'
    'e.target.matches("[data-md-component=search-query]")&&go()},go=()=>{s||(document.'
    'removeEventListener("focusin",on,!0),s=ks().subscribe(r))},u=new URLSearchParams('
    'location.search);u.has("h")||u.has("q")?go():document.addEventListener("focusin",on,!0);'
    'return()=>s&&s.unsubscribe()}).pipe(Z(1)):tt')
# ... and the search worker (40 KB) is started when the index is there to give it (the first
# message it gets is the index): until then Material talks to a stand-in that queues listeners
_WORKER_AT_START = 'function Ei(e,t){let r=Mn(e);'
_WORKER_ON_DEMAND = (
    'function Ei(e,t){let r=Mn(e,(()=>{let w,q=[];return{addEventListener(...a){w?w.'
    'addEventListener(...a):q.push(a)},removeEventListener(...a){w?w.removeEventListener(...a):'
    'q=q.filter(x=>x[1]!==a[1])},postMessage(m){w||(w=new Worker(e),q.forEach(a=>w.'
    'addEventListener(...a)));w.postMessage(m)}}})());')
_NAME = re.compile(r'<span class="n">([^<]*)</span>')
_IMG = re.compile(r"<img (?![^>]*\bloading=)")
_TEX_ANNOTATION = re.compile(r'<annotation encoding="application/x-tex">.*?</annotation>', re.S)


def on_page_content(html, page, config, files):
    if page.file.src_uri.endswith(".ipynb"):   # notebooks keep JupyterLab's own classes
        return html
    html = _TEX_ANNOTATION.sub("", html)
    return _IMG.sub('<img loading="lazy" ', _NAME.sub(r"\1", html))


def patch_bundle(site_dir: Path) -> None:
    bundles = list((site_dir / "assets" / "javascripts").glob("bundle.*.min.js"))
    for bundle in bundles:
        code = bundle.read_text()
        for old, new in ((_INDEX_AT_START, _INDEX_ON_FOCUS), (_WORKER_AT_START, _WORKER_ON_DEMAND)):
            if new in code:
                continue
            if code.count(old) != 1:
                raise PluginError(f"{bundle.name}: Material's start-up of its search changed; "
                                  "hooks/page_weight.py's patch no longer applies (check it)")
            code = code.replace(old, new)
        bundle.write_text(code)


@plugins.event_priority(-200)
def on_post_build(config):
    patch_bundle(Path(config["site_dir"]))
