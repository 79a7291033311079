# The packaged example files (wnlab/examples) are data printed by ``wnlab example``, not modules
# of the package: importing heavy_ball.py for doctests would register its method in the test process.
collect_ignore_glob = ["src/wnlab/examples/*"]
