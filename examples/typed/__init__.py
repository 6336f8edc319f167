"""A typed, multi-module workflow: declare -> ``molexp gen`` -> mypy -> run.

``models.py`` holds plain attrs types, ``tasks.py`` the tasks (annotated with the contexts
that ``molexp gen`` writes to ``workflow_contexts.py``), ``workflow.py`` the graph.
``lj_scan.py`` is the same idea in the ``--stubs`` style (contexts in ``stubs/``), and
``stream.py`` a streaming workflow of actors with its generated ``stream_contexts.py``.
"""
