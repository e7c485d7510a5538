"""Running ifuqa's tasks beyond one process: synthetic builds and checks of users' products on
a ``dask.distributed`` cluster (or serially in this process), with progress people can follow.

Owns connecting to a cluster (:mod:`~ifuqa.cluster.connect`: ``local`` starts a
``LocalCluster``, ``tcp://HOST:PORT`` joins a running scheduler; the check that every worker
sees the build cache), running build plans (:mod:`~ifuqa.cluster.builds`, the tasks of
:mod:`ifuqa.builds.tasks`), streaming checks over archives of products in batches with a
resumable journal (:mod:`~ifuqa.cluster.checks`) and progress bars (:mod:`~ifuqa.cluster.progress`).
``dask`` is optional (``pip install "ifuqa[dask]"``): it is imported only when a cluster is asked
for. May import :mod:`ifuqa.builds`, :mod:`ifuqa.verdicts`, :mod:`ifuqa.products`,
:mod:`ifuqa.scenario` and the layers below.
"""
