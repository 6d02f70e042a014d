"""Text that pages take from code: ``[[gen pages.<module>:<function>]]`` in a page is replaced
at build time by ``sitegen.pages.<module>.<function>(lang)`` (see ``hooks/generated.py``).
Each function returns Markdown (a number, a sentence, a table) for ``lang`` "zh" or "en".
"""
