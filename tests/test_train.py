"""layerkit.train: fit over compiled functions, minibatches, callbacks, early stopping."""
import io

import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.train import (Callback, EarlyStopping, History, LambdaCallback, fit,
                            iterate_minibatches)


# --- minibatches --------------------------------------------------------------------------

def test_minibatches_in_order_cover_everything_with_a_short_last_batch():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    batches = list(iterate_minibatches(X, y, batch_size=4))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    for bx, by in batches:
        np.testing.assert_array_equal(bx, X[by])       # rows stay paired


def test_shuffled_minibatches_are_a_seeded_permutation():
    y = np.arange(50)
    order = np.random.RandomState(3).permutation(50)
    got = np.concatenate([b[0] for b in iterate_minibatches(
        y, batch_size=7, shuffle=True, rng=np.random.RandomState(3))])
    np.testing.assert_array_equal(got, order)


def test_minibatch_errors():
    with pytest.raises(ValueError, match=r"same number of examples .*\[3, 4\]"):
        list(iterate_minibatches(np.zeros(3), np.zeros(4), batch_size=2))
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        list(iterate_minibatches(np.zeros(3), batch_size=0))


# --- fit on a real compiled function --------------------------------------------------------

def _linear_regression(backend, lr=0.1):
    x, t = T.matrix("x"), T.vector("t")
    w = theano.shared(np.zeros(3, dtype="float32"), name="w")
    b = theano.shared(np.float32(0.0), name="b")
    loss = T.mean((T.dot(x, w) + b - t) ** 2)
    gw, gb = T.grad(loss, [w, b])
    step = theano.function([x, t], loss, updates=[(w, w - lr * gw), (b, b - lr * gb)],
                           backend=backend.name)
    evaluate = theano.function([x, t], loss, backend=backend.name)
    return step, evaluate, w, b


def test_fit_trains_a_compiled_step_to_the_least_squares_solution(backend):
    rng = np.random.RandomState(0)
    X = rng.randn(200, 3).astype("float32")
    t = (X @ np.float32([1.5, -2.0, 0.5]) + 0.3 + 0.01 * rng.randn(200)).astype("float32")
    step, evaluate, w, b = _linear_regression(backend)
    history = fit(step, (X, t), epochs=40, batch_size=16, rng=0, verbose=0,
                  validation_data=(X[:50], t[:50]), validation_fn=evaluate)
    A = np.hstack([X, np.ones((200, 1), "float32")]).astype("float64")
    solution = np.linalg.lstsq(A, t.astype("float64"), rcond=None)[0]    # the reference
    np.testing.assert_allclose(np.append(w.get_value(), b.get_value()), solution, atol=0.02)
    assert history.epoch == list(range(1, 41))
    assert set(history.history) == {"loss", "val_loss"}
    assert history.history["loss"][-1] < 0.01 * history.history["loss"][0]
    # the recorded validation loss is the loss over the whole validation data
    np.testing.assert_allclose(history.history["val_loss"][-1],
                               np.mean((X[:50] @ w.get_value() + b.get_value() - t[:50]) ** 2),
                               rtol=1e-4)


# --- what fit records ---------------------------------------------------------------------

def test_epoch_values_are_means_weighted_by_batch_size():
    seen = []

    def step(xb):                       # a stand-in for a compiled function
        seen.append(xb.copy())
        return [np.float32(xb.sum()), np.float32(len(xb))]

    def validate(xb):
        return np.float32(xb.mean())

    X = np.arange(10, dtype="float32")
    history = fit(step, X, epochs=2, batch_size=4, shuffle=False, verbose=0,
                  names=("total", "size"), validation_data=X[:7] * 10, validation_fn=validate,
                  validation_names="val_mean")
    assert [len(b) for b in seen] == [4, 4, 2, 4, 4, 2]
    # batch sums 6, 22, 17 with sizes 4, 4, 2: weighted mean (4*6 + 4*22 + 2*17) / 10
    assert history.history["total"] == pytest.approx([14.6, 14.6])
    assert history.history["size"] == pytest.approx([3.6, 3.6])
    assert history.history["val_mean"] == pytest.approx([30.0, 30.0])   # mean of 0..60


def test_shuffling_follows_the_seed():
    def run(seed):
        order = []
        fit(lambda xb: order.extend(xb.tolist()) or 0.0, np.arange(30), epochs=2,
            batch_size=8, rng=seed, verbose=0)
        return order

    assert run(4) == run(4) != run(5)
    assert sorted(run(4)[:30]) == list(range(30))


def test_callbacks_see_every_event_in_order():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, logs):
            events.append(("train_begin", self.history is not None))

        def on_epoch_begin(self, epoch, logs):
            events.append(("epoch_begin", epoch))

        def on_batch_end(self, batch, logs):
            events.append(("batch", batch, logs["size"], logs["loss"]))

        def on_epoch_end(self, epoch, logs):
            events.append(("epoch_end", epoch, round(logs["loss"], 6)))

        def on_train_end(self, logs):
            events.append(("train_end",))

    plain = []
    fit(lambda xb: np.float32(xb[0]), np.arange(5, dtype="float32"), epochs=2, batch_size=3,
        shuffle=False, verbose=0,
        callbacks=[Recorder(), lambda epoch, logs: plain.append((epoch, sorted(logs)))])
    assert events == [("train_begin", True),
                      ("epoch_begin", 1), ("batch", 0, 3, 0.0), ("batch", 1, 2, 3.0),
                      ("epoch_end", 1, 1.2),
                      ("epoch_begin", 2), ("batch", 0, 3, 0.0), ("batch", 1, 2, 3.0),
                      ("epoch_end", 2, 1.2),
                      ("train_end",)]
    assert plain == [(1, ["loss"]), (2, ["loss"])]


def test_a_callback_stops_training():
    def stop_at_3(epoch, logs):
        if epoch == 3:
            history.stop_training = True

    cb = LambdaCallback(on_epoch_end=stop_at_3)
    history = None

    class Grab(Callback):
        def on_train_begin(self, logs):
            nonlocal history
            history = self.history

    result = fit(lambda xb: 1.0, np.zeros(4), epochs=10, verbose=0, callbacks=[Grab(), cb])
    assert result is history and result.epoch == [1, 2, 3]
    with pytest.raises(TypeError, match="unknown event 'on_epoch_ends'"):
        LambdaCallback(on_epoch_ends=print)


# --- early stopping -----------------------------------------------------------------------

def test_early_stopping_stops_after_patience_and_restores_the_best_values():
    w = theano.shared(np.float32(0.0), name="w")
    val_losses = iter([5.0, 4.0, 3.0, 3.5, 3.2, 3.01, 2.0, 1.0])

    def step(xb):
        w.set_value(np.float32(w.get_value() + 1))      # w counts the epochs
        return 0.0

    stopping = EarlyStopping(monitor="val_loss", patience=3, restore_best=[w])
    history = fit(step, np.zeros(4), batch_size=4, epochs=8, verbose=0,
                  validation_data=np.zeros(1), validation_fn=lambda xb: next(val_losses),
                  callbacks=[stopping])
    assert history.epoch == [1, 2, 3, 4, 5, 6]          # 3 epochs without improvement
    assert (stopping.best, stopping.best_epoch, stopping.stopped_epoch) == (3.0, 3, 6)
    assert float(w.get_value()) == 3.0                  # the values after the best epoch


def test_early_stopping_on_accuracy_with_min_delta_and_a_running_to_the_end():
    accs = iter([0.5, 0.6, 0.605, 0.61, 0.7])
    stopping = EarlyStopping(monitor="val_acc", patience=2, min_delta=0.02)
    history = fit(lambda xb: 0.0, np.zeros(2), epochs=5, verbose=0,
                  validation_data=np.zeros(1), validation_fn=lambda xb: next(accs),
                  validation_names="val_acc", callbacks=[stopping])
    assert stopping.mode == "max"
    assert history.epoch == [1, 2, 3, 4]   # 0.605 and 0.61 are within min_delta of 0.6
    assert stopping.best_epoch == 2


def test_early_stopping_with_compiled_functions_restores_the_best_epoch(backend):
    """Validation labels contradict the training labels, so validation loss rises
    from the first epoch on: training stops after `patience` more epochs and the
    network gets back the weights it had after epoch 1."""
    rng = np.random.RandomState(1)
    X = rng.randn(64, 3).astype("float32")
    y = (X @ np.float32([1.0, -1.0, 2.0]) > 0).astype("float32")
    x, t = T.matrix("x"), T.vector("t")
    w = theano.shared(np.zeros(3, dtype="float32"), name="w")
    p = T.nnet.sigmoid(T.dot(x, w))
    loss = T.nnet.binary_crossentropy(p, t).mean()
    step = theano.function([x, t], loss, updates=[(w, w - 0.5 * T.grad(loss, w))],
                           backend=backend.name)
    evaluate = theano.function([x, t], loss, backend=backend.name)
    after_epoch = {}
    snapshot = LambdaCallback(on_epoch_end=lambda e, logs: after_epoch.__setitem__(
        e, w.get_value()))
    stopping = EarlyStopping(patience=2, restore_best=[w])
    history = fit(step, (X, y), epochs=20, batch_size=16, rng=0, verbose=0,
                  validation_data=(X, 1 - y), validation_fn=evaluate,
                  callbacks=[snapshot, stopping])
    assert history.epoch == [1, 2, 3]
    losses = history.history["val_loss"]
    assert losses[0] < losses[1] < losses[2]
    np.testing.assert_array_equal(w.get_value(), after_epoch[1])
    assert not np.array_equal(after_epoch[3], after_epoch[1])


def test_early_stopping_errors():
    stopping = EarlyStopping(monitor="val_acc")
    with pytest.raises(ValueError, match=r"monitors 'val_acc', but fit records 'loss'"):
        fit(lambda xb: 0.0, np.zeros(2), verbose=0, callbacks=[stopping])
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="up")
    with pytest.raises(TypeError, match="restore_best takes a layer"):
        EarlyStopping(restore_best=np.zeros(3))


# --- reporting ----------------------------------------------------------------------------

def test_verbose_2_prints_one_line_per_epoch():
    out = io.StringIO()
    fit(lambda xb: np.float32(0.25), np.zeros(10), epochs=2, verbose=2, file=out,
        validation_data=np.zeros(3), validation_fn=lambda xb: np.float32(0.5))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/2  loss 0.2500  val_loss 0.5000  (")
    assert lines[1].endswith("ex/s)")


def test_verbose_1_draws_a_bar_with_loss_and_speed():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    fit(lambda xb: np.float32(0.125), np.zeros(40), epochs=2, batch_size=8, verbose=1,
        file=out, unit="img", validation_data=np.zeros(3), validation_fn=lambda xb: 0.0)
    text = out.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text
    assert "40/40" in text and "img/s" in text
    assert "loss=0.1250" in text and "val_loss=0.0000" in text


def test_without_tqdm_the_bar_falls_back_to_lines(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    out = io.StringIO()
    fit(lambda xb: 0.0, np.zeros(4), epochs=1, verbose=1, file=out)
    assert out.getvalue().startswith("epoch 1/1  loss 0.0000  (")


def test_verbose_0_is_silent(capsys):
    fit(lambda xb: 0.0, np.zeros(4), epochs=2, verbose=0)
    assert capsys.readouterr() == ("", "")


# --- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, message", [
    (dict(epochs=0), ValueError, "epochs must be a positive integer, got 0"),
    (dict(batch_size=2.5), ValueError, "batch_size must be a positive integer, got 2.5"),
    (dict(validation_data=np.zeros(2)), ValueError, "got only validation_data"),
    (dict(validation_fn=print), ValueError, "got only validation_fn"),
    (dict(verbose=3), ValueError, "verbose must be 0"),
    (dict(callbacks=[3]), TypeError, "a callback must be a Callback or a function"),
    (dict(names=("loss",), validation_data=np.zeros(2), validation_fn=lambda x: 0.0,
          validation_names=("loss",)), ValueError, "used for both training and validation"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        fit(lambda xb: 0.0, np.zeros(4), **kwargs)


def test_outputs_must_match_the_names_and_be_scalars():
    with pytest.raises(ValueError, match=r"train_fn returned 2 value\(s\) but 1 name\(s\)"):
        fit(lambda xb: [0.0, 1.0], np.zeros(4), verbose=0)
    with pytest.raises(ValueError, match=r"output 'loss' has shape \(4,\); fit averages"):
        fit(lambda xb: xb, np.zeros(4), verbose=0)
    with pytest.raises(TypeError, match="expected an array or a tuple of arrays"):
        fit(lambda xb: 0.0, "data", verbose=0)


def test_history_repr():
    h = History()
    h.record(1, {"loss": 1.0})
    assert repr(h) == "<History: 1 epochs of loss>"
