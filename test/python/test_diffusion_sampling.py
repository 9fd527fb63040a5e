"""One DDPM and one DDIM step against the paper's formulas written out in numpy, and
the sampling loop's bookkeeping (step order, original timesteps, injected noise)."""

import numpy as np
import pytest
import torch

from studio_tools.diffusion import GaussianDiffusion
from studio_tools.diffusion.sampling import GuidanceSchedule, ddim_step, ddpm_step, guided_functions, sample

T = 100
RNG = np.random.default_rng(7)
X_T = RNG.standard_normal((2, 1, 3, 3))
EPS = RNG.standard_normal((2, 1, 3, 3)) * 0.5
V = np.tanh(RNG.standard_normal((2, 1, 3, 3)))
GRAD = RNG.standard_normal((2, 1, 3, 3))
Z = RNG.standard_normal((2, 1, 3, 3))
SCALE = 3.0


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def schedule(name="cosine"):
    s = np.arange(T + 1) / T
    if name == "cosine":
        f = np.cos((s + 0.008) / 1.008 * np.pi / 2) ** 2
        betas = np.minimum(1 - f[1:] / f[:-1], 0.999)
    else:
        betas = np.linspace(10 * 1e-4, 10 * 0.02, T)
    return betas, np.cumprod(1 - betas)


def fixed_denoise(x, t):
    return torch.from_numpy(np.concatenate([EPS, V], axis=1))


def fixed_gradient(x, t):
    return torch.from_numpy(GRAD) * SCALE


def run_step(step_fn, t_index, **kwargs):
    diffusion = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=T)
    t = torch.full((2,), t_index)
    x, x0 = step_fn(diffusion, fixed_denoise, torch.from_numpy(X_T), t, torch.from_numpy(Z), **kwargs)
    return x.numpy(), x0.numpy()


def numpy_pred_x0(ab, eps, clip):
    x0 = np.sqrt(1 / ab) * X_T - np.sqrt(1 / ab - 1) * eps
    return np.clip(x0, -1, 1) if clip else x0


@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize("guided", [True, False])
def test_ddpm_step_matches_the_posterior_with_learned_variance_and_condition_mean(clip, guided):
    k = 37
    betas, ab = schedule()
    ab_prev = ab[k - 1]
    x0 = numpy_pred_x0(ab[k], EPS, clip)
    mean = betas[k] * np.sqrt(ab_prev) / (1 - ab[k]) * x0 + (1 - ab_prev) * np.sqrt(1 - betas[k]) / (1 - ab[k]) * X_T
    posterior_var = betas[k] * (1 - ab_prev) / (1 - ab[k])
    frac = (V + 1) / 2
    var = np.exp(frac * np.log(betas[k]) + (1 - frac) * np.log(posterior_var))
    if guided:
        mean = mean + var * SCALE * GRAD
    expected = mean + np.sqrt(var) * Z
    x, pred = run_step(ddpm_step, k, clip_denoised=clip, gradient_fn=fixed_gradient if guided else None)
    np.testing.assert_allclose(pred, x0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x, expected, rtol=1e-12, atol=1e-12)


def test_ddpm_last_step_adds_no_noise():
    x_noisy, _ = run_step(ddpm_step, 0, clip_denoised=True)
    diffusion = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=T)
    x_clean, _ = ddpm_step(
        diffusion, fixed_denoise, torch.from_numpy(X_T), torch.zeros(2, dtype=torch.long),
        torch.zeros(2, 1, 3, 3, dtype=torch.float64), clip_denoised=True,
    )
    np.testing.assert_array_equal(x_noisy, x_clean.numpy())


@pytest.mark.parametrize("eta", [0.0, 0.5])
@pytest.mark.parametrize("guided", [True, False])
def test_ddim_step_matches_equation_12_with_condition_score(eta, guided):
    k = 61
    _, ab = schedule()
    clip = True
    x0 = numpy_pred_x0(ab[k], EPS, clip)
    # ε is re-derived from the clipped x̂₀ before guidance, as in the reference code.
    eps = (np.sqrt(1 / ab[k]) * X_T - x0) / np.sqrt(1 / ab[k] - 1)
    if guided:
        eps = eps - np.sqrt(1 - ab[k]) * SCALE * GRAD
        x0 = numpy_pred_x0(ab[k], eps, clip=False)
    sigma = eta * np.sqrt((1 - ab[k - 1]) / (1 - ab[k])) * np.sqrt(1 - ab[k] / ab[k - 1])
    expected = np.sqrt(ab[k - 1]) * x0 + np.sqrt(1 - ab[k - 1] - sigma**2) * eps + sigma * Z
    x, pred = run_step(ddim_step, k, clip_denoised=clip, eta=eta, gradient_fn=fixed_gradient if guided else None)
    np.testing.assert_allclose(pred, x0, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(x, expected, rtol=1e-11, atol=1e-12)


def test_ddim_with_eta_1_is_ddpm_with_the_fixed_small_variance():
    diffusion = GaussianDiffusion.from_settings(schedule="linear", num_timesteps=T, learn_sigma=False)

    def denoise(x, t):
        return torch.sin(3 * x) * (1 + t.reshape(-1, 1, 1, 1) / T)

    noise = torch.from_numpy(RNG.standard_normal((T, 2, 1, 3, 3)))
    x_T = torch.from_numpy(X_T)
    ddpm = list(sample(diffusion, "ddpm", denoise, x_T, noise, clip_denoised=False))
    ddim = list(sample(diffusion, "ddim", denoise, x_T, noise, clip_denoised=False, eta=1.0))
    for a, b in zip(ddpm, ddim, strict=True):
        torch.testing.assert_close(a.xt, b.xt, rtol=1e-9, atol=1e-9)


def test_loop_walks_respaced_steps_down_and_feeds_original_timesteps():
    diffusion = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=T, respacing="3,4,3")
    seen = []

    def denoise(x, t):
        seen.append(t.tolist())
        return torch.zeros(x.shape[0], 2 * x.shape[1], *x.shape[2:], dtype=x.dtype)

    steps = list(sample(diffusion, "ddim", denoise, torch.from_numpy(X_T), clip_denoised=True))
    assert [s.t for s in steps] == list(range(9, -1, -1))
    assert [t[0] for t in seen] == [99, 83, 67, 66, 55, 45, 34, 33, 16, 0]
    assert all(t[0] == t[1] for t in seen)


def test_noise_for_the_wrong_number_of_steps_is_refused():
    diffusion = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=T, respacing="10")
    with pytest.raises(ValueError, match="noise for 10 steps"):
        next(sample(diffusion, "ddpm", fixed_denoise, torch.from_numpy(X_T), torch.zeros(9, 2, 1, 3, 3)))


class LabelEcho(torch.nn.Module):
    """Returns its label as the output, to see which label the UNet received."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(()))

    def forward(self, x, t, y=None):
        value = -1.0 if y is None else y.to(x.dtype).reshape(-1, 1, 1, 1)
        return torch.zeros_like(x) + value


class LinearClassifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(9, 3)

    def forward(self, x, t):
        return self.linear(x.flatten(1))


@pytest.mark.parametrize(
    "mode, class_cond, null_class, expected_label, guided",
    [
        ("conditional", True, 3, [2, 0], False),
        ("conditional+classifier", True, 3, [2, 0], True),
        ("unconditional+classifier", True, 3, [3, 3], True),
        ("unconditional+classifier", False, None, [-1, -1], True),
    ],
)
def test_guidance_modes_pick_the_unet_label_and_the_classifier(mode, class_cond, null_class, expected_label, guided):
    y = torch.tensor([2, 0])
    classifier = LinearClassifier()
    denoise, gradient = guided_functions(
        LabelEcho(), classifier, mode, y, 2.0, class_cond=class_cond, null_class=null_class
    )
    out = denoise(torch.zeros(2, 1, 3, 3, dtype=torch.float64), torch.zeros(2, dtype=torch.long))
    assert out[:, 0, 0, 0].tolist() == expected_label
    assert (gradient is not None) == guided
    if gradient is not None:
        x = torch.randn(2, 1, 3, 3, dtype=torch.float64)
        w = classifier.linear.weight.detach().double()
        probs = torch.softmax(classifier(x.float(), None).double(), dim=-1)
        # ∇ₓ log softmax(Wx+b)[y] = W[y] − Σₖ pₖ W[k].
        expected = 2.0 * (w[y] - probs @ w).reshape(2, 1, 3, 3)
        torch.testing.assert_close(gradient(x, torch.zeros(2, dtype=torch.long)), expected, rtol=1e-5, atol=1e-6)


def test_unconditional_sampling_without_a_null_class_is_refused():
    with pytest.raises(ValueError, match="no null class"):
        guided_functions(LabelEcho(), LabelEcho(), "unconditional+classifier", torch.tensor([0]), 1.0,
                         class_cond=True, null_class=None)


def numpy_dpmpp2m(ab_kept, x_T, eps_of, grad_of=None, scale=0.0, clip=True):
    """DPM-Solver++(2M), Algorithm 2 of Lu et al. (2022), over ᾱ of the kept steps (ascending),
    with lower_order_final and a last step to σ = 0; returns every step's (x, x̂₀)."""
    x, previous, out = x_T, None, []
    for index in range(len(ab_kept) - 1, -1, -1):
        ab = ab_kept[index]
        eps = eps_of(x, index)
        if grad_of is not None:
            eps = eps - np.sqrt(1 - ab) * scale * grad_of(x, index)
        x0 = (x - np.sqrt(1 - ab) * eps) / np.sqrt(ab)
        if clip:
            x0 = np.clip(x0, -1, 1)
        lam = np.log(np.sqrt(ab) / np.sqrt(1 - ab))
        if index == 0:
            x = x0
        else:
            ab_next = ab_kept[index - 1]
            h = np.log(np.sqrt(ab_next) / np.sqrt(1 - ab_next)) - lam
            d = x0
            if previous is not None and index > 1:
                r = (lam - previous[0]) / h
                d = (1 + 1 / (2 * r)) * x0 - 1 / (2 * r) * previous[1]
            x = np.sqrt(1 - ab_next) / np.sqrt(1 - ab) * x - np.sqrt(ab_next) * (np.exp(-h) - 1) * d
        previous = (lam, x0)
        out.append((x, x0))
    return out


@pytest.mark.parametrize("guided", [True, False])
@pytest.mark.parametrize("clip", [True, False])
def test_dpmpp2m_follows_algorithm_2_written_in_numpy(guided, clip):
    diffusion = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=T, respacing="ddim6")
    ab_kept = diffusion.alphas_cumprod

    def eps_numpy(x, index):
        return np.sin(2 * x) * (1 + index / 10)

    def denoise(x, t):
        index = int(np.searchsorted(diffusion.timestep_map, int(t[0])))
        eps = torch.from_numpy(eps_numpy(x.numpy(), index))
        return torch.cat([eps, torch.zeros_like(eps)], dim=1)

    def gradient(x, t):
        return torch.from_numpy(GRAD) * SCALE

    expected = numpy_dpmpp2m(ab_kept, X_T, eps_numpy, (lambda x, i: GRAD) if guided else None, SCALE, clip)
    steps = list(sample(diffusion, "dpmpp2m", denoise, torch.from_numpy(X_T), clip_denoised=clip,
                        gradient_fn=gradient if guided else None))
    assert [s.t for s in steps] == list(range(5, -1, -1))
    for step, (x, x0) in zip(steps, expected, strict=True):
        np.testing.assert_allclose(step.pred_xstart.numpy(), x0, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(step.xt.numpy(), x, rtol=1e-11, atol=1e-12)


def test_dpmpp2m_draws_no_noise_and_its_first_step_is_ddim():
    diffusion = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=T, respacing="ddim10")
    noise = torch.from_numpy(RNG.standard_normal((10, 2, 1, 3, 3)))
    quiet = list(sample(diffusion, "dpmpp2m", fixed_denoise, torch.from_numpy(X_T), noise, clip_denoised=True))
    loud = list(sample(diffusion, "dpmpp2m", fixed_denoise, torch.from_numpy(X_T), 5 * noise, clip_denoised=True))
    ddim = next(iter(sample(diffusion, "ddim", fixed_denoise, torch.from_numpy(X_T), noise, clip_denoised=True)))
    for a, b in zip(quiet, loud, strict=True):
        torch.testing.assert_close(a.xt, b.xt, rtol=0, atol=0)
    torch.testing.assert_close(quiet[0].xt, ddim.xt, rtol=1e-12, atol=1e-12)


class LabelledEps(torch.nn.Module):
    """ε = label·x and v = label/10, to tell the conditional half from the unconditional one."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones((), dtype=torch.float64))
        self.calls: list[int] = []

    def forward(self, x, t, y=None):
        self.calls.append(x.shape[0])
        label = y.to(x.dtype).reshape(-1, 1, 1, 1)
        return torch.cat([label * x, torch.zeros_like(x) + label / 10], dim=1)


@pytest.mark.parametrize("weight", [0.0, 1.0, 2.5])
def test_classifier_free_guidance_combines_eps_in_one_doubled_call(weight):
    unet = LabelledEps()
    y = torch.tensor([2, 1])
    denoise, gradient = guided_functions(
        unet, None, "conditional", y, 0.0, class_cond=True, null_class=3, cfg_scale=weight
    )
    x = torch.from_numpy(X_T)
    out = denoise(x, torch.zeros(2, dtype=torch.long)).numpy()
    labels = np.array([2.0, 1.0]).reshape(2, 1, 1, 1)
    expected_eps = 3.0 * X_T + weight * (labels * X_T - 3.0 * X_T)
    np.testing.assert_allclose(out[:, :1], expected_eps, rtol=1e-12, atol=1e-12)
    # v from the conditional half.
    np.testing.assert_array_equal(out[:, 1:], np.broadcast_to(labels / 10, X_T.shape))
    assert unet.calls == [4] and gradient is None
    if weight in (0.0, 1.0):
        exact = (3.0 if weight == 0.0 else labels) * X_T
        np.testing.assert_array_equal(out[:, :1], exact)


def test_classifier_free_guidance_needs_a_null_class_and_a_conditional_mode():
    with pytest.raises(ValueError, match="null class"):
        guided_functions(LabelledEps(), None, "conditional", torch.tensor([0]), 0.0,
                         class_cond=True, null_class=None, cfg_scale=2.0)
    with pytest.raises(ValueError, match="conditional or conditional\\+classifier"):
        guided_functions(LabelledEps(), LabelledEps(), "unconditional+classifier", torch.tensor([0]), 1.0,
                         class_cond=True, null_class=3, cfg_scale=2.0)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpmpp2m"])
def test_interval_schedule_runs_the_classifier_only_inside(sampler):
    diffusion = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=T, respacing="ddim10")
    asked = []

    def gradient(x, t):
        asked.append(int(t[0]))
        return torch.from_numpy(GRAD)

    schedule = GuidanceSchedule("interval", t_lo=20, t_hi=60)
    list(sample(diffusion, sampler, fixed_denoise, torch.from_numpy(X_T), clip_denoised=True,
                gradient_fn=gradient, guidance_schedule=schedule, noise=torch.zeros(10, 2, 1, 3, 3)))
    assert asked == [60, 50, 40, 30, 20]


def test_ramp_scales_the_gradient_linearly_in_t():
    ramp = GuidanceSchedule("ramp", start=2.0, end=0.5)
    assert ramp.factor(99, 100) == 2.0
    assert ramp.factor(0, 100) == 0.5
    assert ramp.factor(33, 100) == pytest.approx(0.5 + 1.5 / 3)
    assert GuidanceSchedule().factor(17, 100) == 1.0
