import torch

from multiemo.models.online_softmax import pool_add, pool_read, pool_start


def test_online_pool_matches_softmax_over_stored_history():
    gen = torch.Generator().manual_seed(0)
    batch, steps, dim = 3, 12, 5
    # Large, increasing and decreasing scores exercise the rescaling when the running max grows.
    scores = 30 * torch.randn(batch, steps, 1, generator=gen)
    values = torch.randn(batch, steps, dim, generator=gen)
    pool = pool_start(scores[:, 0], values[:, 0])
    for t in range(1, steps):
        weights = torch.softmax(scores[:, :t], dim=1)  # (B, t, 1), the naive reference
        expected = (weights * values[:, :t]).sum(dim=1)
        torch.testing.assert_close(pool_read(pool), expected, atol=1e-6, rtol=1e-5)
        pool = pool_add(pool, scores[:, t], values[:, t])


def test_online_pool_gradients_match_naive_softmax():
    gen = torch.Generator().manual_seed(1)
    scores = torch.randn(2, 6, 1, generator=gen, requires_grad=True)
    values = torch.randn(2, 6, 4, generator=gen, requires_grad=True)
    pool = pool_start(scores[:, 0], values[:, 0])
    for t in range(1, 6):
        pool = pool_add(pool, scores[:, t], values[:, t])
    online = torch.autograd.grad(pool_read(pool).sum(), (scores, values))
    naive = torch.autograd.grad((torch.softmax(scores, dim=1) * values).sum(dim=1).sum(), (scores, values))
    for a, b in zip(online, naive, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
