"""A character-level LSTM text generator (after Lasagne Recipes' lstm_text_generation.py), on stdlib docstrings.

What the recipe did (``examples/lstm_text_generation.py`` in Lasagne/Recipes,
by @keskarnitish, after Karpathy's char-rnn): it downloads Nietzsche's
text, one-hot encodes its characters and trains two ``LSTMLayer``s of 512
tanh units (``grad_clipping=100``; the second with ``only_return_final=True``)
and a softmax ``DenseLayer`` (``W=Normal()``) to predict the character that
follows each window of 20 characters: the mean categorical cross-entropy,
``adagrad`` at learning rate 0.01, minibatches of 128 overlapping windows
(``gen_data``). Every 1000 updates it printed the average training loss and
a 200-character continuation of "The quick brown fox jumps", each next
character the most probable one.

This is our own program after that recipe, with the same network, loss,
update rule, minibatches and greedy generation, and these differences:

- the text ships with Python, so nothing is downloaded: the docstrings
  (``inspect.getdoc``) of 18 standard-library modules, in a fixed order,
  joined by blank lines (35,129 characters, 92 distinct ones, on Python
  3.11; other Python versions have slightly different docstrings).
  Its last 10 % is held out: before and after training we report the mean
  cross-entropy on a fixed set of held-out windows (the recipe compiled
  ``compute_cost`` and never used it), next to the text's unigram entropy
  (the loss of a model that knows only the character frequencies);
- sizes: the default is a short run, 2 x 64 units, learning rate 0.1, 2000
  updates of 32 windows (3.2 passes over the training text), printing every
  250, in about 25 s on two cores. (An adagrad step of 0.01 learns
  little in a few thousand updates, and 2 x 128 units sit longer on the
  plateau where the net predicts only the character frequencies.)
  ``--full`` is the recipe's network and settings (2 x 512 units, learning
  rate 0.01, minibatches of 128, printing every 1000 updates) for 20 passes
  over the text (the recipe's "about 20 epochs are necessary to generate
  text that makes sense"; its own loop ran ``PRINT_FREQ`` times more):
  over an hour on a CPU (about 1 s per update here);
- BLAS threads: the matrix products are large enough for OpenBLAS to
  split them over both cores, and while another process holds one of them
  the threads wait on each other: runs took 5-10 times longer on our shared
  machine. So, as ``layerkit demo`` does, training uses one BLAS thread
  (``--blas-threads``; it changes no number);
- ``--sample`` draws each next character from the predicted distribution
  (the recipe's commented-out alternative) instead of taking the most
  probable one;
- the recipe's epoch count printed ``it * PRINT_FREQ / data_size * BATCH_SIZE``;
  we print the number of updates and of passes over the text.

    python examples/char_lstm_text_generation.py
    python examples/char_lstm_text_generation.py --updates 4000 --sample
    python examples/char_lstm_text_generation.py --full
"""
import argparse
import contextlib
import importlib
import inspect
import time

import numpy as np

import layerkit as lasagne                # was: import lasagne
import layerkit.core as theano            # was: import theano
import layerkit.core.tensor as T          # was: import theano.tensor as T

MODULES = ["json", "argparse", "difflib", "heapq", "pickle", "random", "collections",
           "itertools", "os", "typing", "unittest", "doctest", "inspect", "ast", "csv",
           "pdb", "tokenize", "string"]

generation_phrase = "The quick brown fox jumps"   # the recipe's seed phrase


def load_text(modules=MODULES):
    """The module docstrings, in order, joined by blank lines."""
    docs = [inspect.getdoc(importlib.import_module(name)) or "" for name in modules]
    return "\n\n".join(doc for doc in docs if doc) + "\n"


class Encoding:
    """The text's characters as indices (sorted, so the encoding is deterministic)."""

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.char_to_ix = {ch: i for i, ch in enumerate(self.chars)}
        self.vocab_size = len(self.chars)

    def windows(self, data, starts, seq_length, return_target=True):
        """One-hot windows ``(len(starts), seq_length, vocab)`` from ``data`` and the
        index of the character after each."""
        x = np.zeros((len(starts), seq_length, self.vocab_size), dtype=theano.config.floatX)
        y = np.zeros(len(starts), dtype="int32")
        for n, start in enumerate(starts):
            for i in range(seq_length):
                x[n, i, self.char_to_ix[data[start + i]]] = 1.
            if return_target:
                y[n] = self.char_to_ix[data[start + seq_length]]
        return x, y


def blas_threads(n):
    """At most ``n`` BLAS threads while training (0: the library's default), as
    ``layerkit demo`` does; threadpoolctl comes with scikit-learn, a no-op without it."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas") if n else contextlib.nullcontext()


def build_network(vocab_size, n_hidden, grad_clip):
    """The recipe's network: two LSTM layers and a softmax over the characters."""
    l_in = lasagne.layers.InputLayer(shape=(None, None, vocab_size))
    l_forward_1 = lasagne.layers.LSTMLayer(
        l_in, n_hidden, grad_clipping=grad_clip,
        nonlinearity=lasagne.nonlinearities.tanh)
    l_forward_2 = lasagne.layers.LSTMLayer(
        l_forward_1, n_hidden, grad_clipping=grad_clip,
        nonlinearity=lasagne.nonlinearities.tanh,
        only_return_final=True)                     # (batch, n_hidden): the last step only
    l_out = lasagne.layers.DenseLayer(
        l_forward_2, num_units=vocab_size, W=lasagne.init.Normal(),
        nonlinearity=lasagne.nonlinearities.softmax)
    return l_in, l_out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="the recipe's sizes: 2 x 512 units, lr 0.01, batches of 128, "
                             "20 passes over the text (over an hour on a CPU)")
    parser.add_argument("--hidden", type=int, help="units per LSTM layer (default 64; recipe: 512)")
    parser.add_argument("--seq-length", type=int, default=20, help="window (recipe: 20)")
    parser.add_argument("--batch-size", type=int, help="windows per update (default 32; recipe: 128)")
    parser.add_argument("--lr", type=float, help="adagrad learning rate (default 0.1; recipe: 0.01)")
    parser.add_argument("--grad-clip", type=float, default=100, help="(recipe: 100)")
    parser.add_argument("--updates", type=int, help="training updates (default 2000)")
    parser.add_argument("--print-every", type=int, help="updates between reports (default 250; "
                                                        "recipe: 1000)")
    parser.add_argument("--chars", type=int, default=0,
                        help="use only the text's first CHARS characters (0: all)")
    parser.add_argument("--generate", type=int, default=200,
                        help="characters to generate after training (recipe: 200)")
    parser.add_argument("--sample", action="store_true",
                        help="sample each generated character instead of taking the most "
                             "probable one")
    parser.add_argument("--val-windows", type=int, default=256,
                        help="held-out windows to measure the loss on")
    parser.add_argument("--seed", type=int, default=1, help="Lasagne's random seed (recipe: 1)")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads (default 1, see the docstring; 0: BLAS's default)")
    args = parser.parse_args(argv)
    with blas_threads(args.blas_threads):
        return run(args)


def run(args):
    """Train and generate as ``args`` say; the reported numbers."""
    full = dict(hidden=512, batch_size=128, lr=0.01, print_every=1000)
    short = dict(hidden=64, batch_size=32, lr=0.1, print_every=250, updates=2000)
    for key, value in (full if args.full else short).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    start = time.time()

    text = load_text()
    if args.chars:
        text = text[:args.chars]
    enc = Encoding(text)
    split = int(0.9 * len(text))
    train_text, val_text = text[:split], text[split:]
    seq_length, batch_size = args.seq_length, args.batch_size
    stride = seq_length + batch_size - 1           # characters one minibatch consumes
    if args.updates is None:                       # --full: 20 passes over the training text
        args.updates = 20 * (len(train_text) // stride)
    counts = np.array([text.count(ch) for ch in enc.chars], dtype=float)
    unigram_entropy = float(-(counts / counts.sum() * np.log(counts / counts.sum())).sum())
    print("Text: docstrings of %d modules, %d characters (%d for training), %d distinct; "
          "unigram entropy %.3f nats" % (len(MODULES), len(text), len(train_text),
                                         enc.vocab_size, unigram_entropy))

    lasagne.random.set_rng(np.random.RandomState(args.seed))   # Lasagne seed for reproducibility
    print("Building network ...")
    l_in, l_out = build_network(enc.vocab_size, args.hidden, args.grad_clip)
    target_values = T.ivector("target_output")
    network_output = lasagne.layers.get_output(l_out)
    cost = T.nnet.categorical_crossentropy(network_output, target_values).mean()
    all_params = lasagne.layers.get_all_params(l_out, trainable=True)
    print("Computing updates ...")
    updates = lasagne.updates.adagrad(cost, all_params, args.lr)
    print("Compiling functions ...")
    train = theano.function([l_in.input_var, target_values], cost, updates=updates,
                            allow_input_downcast=True)
    compute_cost = theano.function([l_in.input_var, target_values], cost,
                                   allow_input_downcast=True)
    probs = theano.function([l_in.input_var], network_output, allow_input_downcast=True)

    # held-out windows, evenly spread over the last 10 % of the text
    n_val = min(args.val_windows, len(val_text) - seq_length)
    x_val, y_val = enc.windows(val_text, np.linspace(0, len(val_text) - seq_length - 1,
                                                     n_val).astype(int), seq_length)

    def try_it_out(N=args.generate):
        """Continue the generation phrase with the most probable character, N times."""
        phrase = generation_phrase
        if len(phrase) < seq_length:
            phrase = " " * (seq_length - len(phrase)) + phrase
        phrase = "".join(ch if ch in enc.char_to_ix else " " for ch in phrase)
        x, _ = enc.windows(phrase, [len(phrase) - seq_length], seq_length, return_target=False)
        sample_ix = []
        rng = np.random.RandomState(args.seed)
        for _ in range(N):
            dist = probs(x).ravel().astype("float64")
            # the most probable character, or (--sample) one drawn from the distribution
            ix = int(rng.choice(len(dist), p=dist / dist.sum()) if args.sample
                     else np.argmax(dist))
            sample_ix.append(ix)
            x[:, 0:seq_length - 1, :] = x[:, 1:, :]
            x[:, seq_length - 1, :] = 0
            x[0, seq_length - 1, ix] = 1.
        return generation_phrase + "".join(enc.chars[ix] for ix in sample_ix)

    val_before = float(compute_cost(x_val, y_val))
    print("Training ... (held-out loss before: %.3f; ln %d = %.3f)"
          % (val_before, enc.vocab_size, np.log(enc.vocab_size)))
    p, losses, block = 0, [], []
    for it in range(args.updates):
        x, y = enc.windows(train_text, range(p, p + batch_size), seq_length)
        p += stride
        if p + batch_size + seq_length >= len(train_text):
            p = 0                                  # the recipe's "Carriage Return"
        block.append(float(train(x, y)))
        if len(block) == args.print_every or it == args.updates - 1:
            losses.append(float(np.mean(block)))
            block = []
            print("update %d (%.2f passes over the text): average loss = %.3f, %.0f s"
                  % (it + 1, (it + 1) * stride / len(train_text), losses[-1],
                     time.time() - start))
    val_after = float(compute_cost(x_val, y_val))
    sample = try_it_out()
    seconds = time.time() - start
    print("----\n %s \n----" % sample)
    first, last = (losses[0], losses[-1]) if losses else (float("nan"), float("nan"))
    print("training loss %.3f -> %.3f (first and last %d updates); held-out loss %.3f -> %.3f "
          "(unigram entropy %.3f); %.0f s" % (first, last, args.print_every, val_before,
                                              val_after, unigram_entropy, seconds))
    return {"losses": losses, "first_loss": first, "last_loss": last,
            "val_before": val_before, "val_after": val_after,
            "unigram_entropy": unigram_entropy, "vocab_size": enc.vocab_size,
            "n_chars": len(text), "sample": sample, "seconds": seconds}


if __name__ == "__main__":
    main()
