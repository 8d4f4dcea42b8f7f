"""The numpy plugin's Bernoulli draws (dropout masks from raw generator words):
right frequencies, independent elements and calls, reproducible, edge rates."""
import numpy as np
import pytest
import scipy.stats as st

from layerkit_numpy.random import random_binomial


@pytest.mark.parametrize("p", [0.5, 0.2, 0.8, 0.999])
def test_frequency_matches_p(p):
    m = random_binomial(7, 3, (400, 500), "float32", p=p)
    assert m.dtype == np.float32 and set(np.unique(m)) <= {0.0, 1.0}
    # a binomial test of the count: fails only if the frequency is off
    assert st.binomtest(int(m.sum()), m.size, p).pvalue > 1e-4


def test_elements_and_calls_are_independent():
    a = random_binomial(7, 3, (200_000,), "float64", p=0.5)
    b = random_binomial(7, 4, (200_000,), "float64", p=0.5)
    # neighbouring elements (bits of one word) and two calls: no correlation
    for x, y in ((a[:-1], a[1:]), (a, b), (a[::64], a[1::64])):
        table = np.histogram2d(x, y, bins=2)[0]
        assert st.chi2_contingency(table).pvalue > 1e-4


def test_reproducible_and_edge_rates():
    np.testing.assert_array_equal(random_binomial(1, 2, (3, 70), "int64", p=0.5),
                                  random_binomial(1, 2, (3, 70), "int64", p=0.5))
    assert random_binomial(1, 2, (5,), "float32", p=1.0).tolist() == [1.0] * 5
    assert random_binomial(1, 2, (5,), "float32", p=0.0).tolist() == [0.0] * 5
    assert random_binomial(1, 2, (0, 3), "float32", p=0.3).shape == (0, 3)
    assert random_binomial(1, 2, (), "float32", p=0.5).shape == ()


def test_a_rate_per_element():
    p = np.array([0.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(random_binomial(1, 2, (4,), "int64", p=p), [0, 1, 1, 0])
