"""The analysis layer: what rules ask questions of.

- `statements` a module's layout from Python's tokenizer: statements, class members, imports, skeletons
- `source`   reading, decoding and parsing a file (lazily where it can); positions
- `names`    import and name resolution (qualified names, bindings, scopes)
- `values`   static values of expressions (literals, arithmetic, constants, mappings, URLs)
- `project`  the project index: modules of one project root, resolved across files
- `file`     one module as the analyses see it (source, names, values, project, plan)
- `engines`  engine factory calls and their resolved pool configuration
- `roles`    file roles (test code, migrations)
- `runtime`  where the code runs (server, serverless, unknown) and the evidence
- `sessions` where sessions and connections are held, and what is called meanwhile
- `external` which calls go out (HTTP, SDK clients), directly or through project functions
- `catalog`  the qualified names every layer shares, as data
- `context`  what the rules see: a `file` view with the analyses on top, limited to the
             lines the running rule may report in

Imports go one way: `context` -> `sessions` -> `external` -> `file`; an analysis that
follows a call into another module asks `file.FileView.for_module` for its view.
"""
