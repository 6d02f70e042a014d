"""Build-time code of the site (not installed with ``snippets``).

* ``sitegen.figures``: every figure on a page, drawn from code with matplotlib at build time;
* ``sitegen.pages``: the numbers, sentences and tables that pages take from code with
  ``[[gen pages.<module>:<function>]]``.

Both call the library in ``snippets/``; nothing in ``snippets/`` imports from here, so the
installed package needs only torch. ``hooks/`` are thin mkdocs hooks that call this package.
"""
