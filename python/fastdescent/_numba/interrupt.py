"""Ctrl-C for compiled kernels, which never look at Python's signal flag.

Ctrl-C only reaches the main thread between Python bytecodes, never inside compiled code, so there
the kernel runs in a worker thread (it holds no GIL) while the main thread waits; an interrupt
raises a stop flag that the kernel reads between batches, then propagates.
"""

from __future__ import annotations

import threading

import numpy as np


def run_interruptibly(kernel, *args):
    """``kernel(*args, stop_flag)``, stoppable by Ctrl-C within a batch or so."""
    stop_flag = np.zeros(1, dtype=np.int8)
    if threading.current_thread() is not threading.main_thread():
        return kernel(*args, stop_flag)
    outcome = []
    finished = threading.Event()
    worker = threading.Thread(target=_capture, args=(kernel, args + (stop_flag,), outcome, finished), daemon=True)
    worker.start()
    try:
        # Wait on an Event, not on join(): an interrupted join() can leave the thread looking alive.
        while not finished.wait(0.05):
            pass
    except BaseException:  # KeyboardInterrupt: stop the kernel, wait for it, let the interrupt go on
        stop_flag[0] = 1
        finished.wait()
        raise
    finally:
        worker.join()
    result, error = outcome[0]
    if error is not None:
        raise error
    return result


def _capture(kernel, args, outcome, finished):
    try:
        outcome.append((kernel(*args), None))
    except BaseException as error:  # re-raised in the calling thread
        outcome.append((None, error))
    finally:
        finished.set()
