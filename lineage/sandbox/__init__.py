"""The sandbox runner: each task in its pinned image, offline, with bubblewrap.

``cache`` pulls images by digest into a content-addressed cache, ``unpack`` makes a
rootfs per digest, ``bwrap`` builds and runs the sandbox, ``handler`` is kfp.local's
task execution with the sandbox as handler, and ``runner`` ties them together as
``lineage.SandboxRunner``.
"""
