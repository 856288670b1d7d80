"""A two-layer ReLU network trained with PyTorch's autograd API, running on transgrad.

This is a PyTorch program: change the import line to ``import torch`` and it runs on PyTorch,
with the same losses (from the same initial values). Here every derivative comes from
transgrad's rule table, except the ReLU's, which the program writes itself as a custom
``autograd.Function``.

    python examples/two_layer_relu.py
"""

import transgrad.torch as torch  # noqa: PLR0402  (the one line that differs from PyTorch)


class MyReLU(torch.autograd.Function):
    """ReLU with a hand-written backward: the gradient is zero where the input was negative."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


def train(steps=500, log_every=100):
    """Fit random targets with a two-layer net by gradient descent; return the losses."""
    dtype = torch.float
    device = torch.device("cpu")

    # N is the batch size; D_in the input dimension; H the hidden dimension; D_out the output
    N, D_in, H, D_out = 64, 1000, 100, 10

    x = torch.randn(N, D_in, device=device, dtype=dtype)
    y = torch.randn(N, D_out, device=device, dtype=dtype)
    w1 = torch.randn(D_in, H, device=device, dtype=dtype, requires_grad=True)
    w2 = torch.randn(H, D_out, device=device, dtype=dtype, requires_grad=True)

    learning_rate = 1e-6
    losses = []
    for t in range(steps):
        relu = MyReLU.apply
        y_pred = relu(x.mm(w1)).mm(w2)

        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        if log_every and t % log_every == log_every - 1:
            print(t, loss.item())

        loss.backward()

        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad

            w1.grad.zero_()
            w2.grad.zero_()
    return losses


if __name__ == "__main__":
    torch.manual_seed(0)
    train()
