"""How runs are driven: the stopping rule (:mod:`.stopping`) and :class:`~.status.Status`, step
sizes (:mod:`.schedules`), the one driver on NumPy arrays and PyTorch tensors (:mod:`.driver`,
:mod:`.torch_backend`), the compiled loop (:mod:`.compiled`), mini-batch rows (:mod:`.stochastic`)
and the entry points ``solve``/``solve_batch``/``check_run`` (:mod:`.solve`)."""
