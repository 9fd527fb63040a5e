"""The ADM UNet and its encoder half used as a noisy classifier.

Constructor arguments and submodule names match the guided-diffusion release, so a
released state_dict loads as it is.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import torch
from torch import nn

from .nn import (
    AttentionBlock,
    AttentionPool2d,
    Downsample,
    ResBlock,
    TimestepEmbedSequential,
    Upsample,
    conv_nd,
    normalization,
    timestep_embedding,
    zero_module,
)


class _Encoder(nn.Module):
    """Time embedding, the downsampling path and the middle block shared by both networks."""

    def __init__(
        self,
        in_channels: int,
        model_channels: int,
        num_res_blocks: int,
        attention_resolutions: Collection[int],
        dropout: float,
        channel_mult: Sequence[float],
        conv_resample: bool,
        dims: int,
        num_heads: int,
        num_head_channels: int,
        use_scale_shift_norm: bool,
        resblock_updown: bool,
        use_new_attention_order: bool,
    ):
        super().__init__()
        self.model_channels = model_channels
        time_embed_dim = model_channels * 4
        self.time_embed = nn.Sequential(
            nn.Linear(model_channels, time_embed_dim),
            nn.SiLU(),
            nn.Linear(time_embed_dim, time_embed_dim),
        )

        def attention(channels: int) -> AttentionBlock:
            return AttentionBlock(
                channels,
                num_heads=num_heads,
                num_head_channels=num_head_channels,
                use_new_attention_order=use_new_attention_order,
            )

        def res_block(channels: int, out_channels: int, **updown: bool) -> ResBlock:
            return ResBlock(
                channels,
                time_embed_dim,
                dropout,
                out_channels=out_channels,
                dims=dims,
                use_scale_shift_norm=use_scale_shift_norm,
                **updown,
            )

        self._attention = attention
        self._res_block = res_block

        ch = int(channel_mult[0] * model_channels)
        self.input_blocks = nn.ModuleList([TimestepEmbedSequential(conv_nd(dims, in_channels, ch, 3, padding=1))])
        self.input_block_chans = [ch]
        ds = 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers: list[nn.Module] = [res_block(ch, int(mult * model_channels))]
                ch = int(mult * model_channels)
                if ds in attention_resolutions:
                    layers.append(attention(ch))
                self.input_blocks.append(TimestepEmbedSequential(*layers))
                self.input_block_chans.append(ch)
            if level != len(channel_mult) - 1:
                down = (
                    res_block(ch, ch, down=True)
                    if resblock_updown
                    else Downsample(ch, conv_resample, dims=dims, out_channels=ch)
                )
                self.input_blocks.append(TimestepEmbedSequential(down))
                self.input_block_chans.append(ch)
                ds *= 2
        self.middle_block = TimestepEmbedSequential(res_block(ch, ch), attention(ch), res_block(ch, ch))
        self.channels = ch
        self.downsampling = ds

    def embed(self, timesteps: torch.Tensor) -> torch.Tensor:
        return self.time_embed(
            timestep_embedding(timesteps, self.model_channels, dtype=next(self.time_embed.parameters()).dtype)
        )


def _attention_set(attention_resolutions: Sequence[int]) -> frozenset[int]:
    return frozenset(int(r) for r in attention_resolutions)


class UNetModel(nn.Module):
    """ADM UNet: ε (and the variance interpolation v when out_channels = 2C) from (x_t, t, y)."""

    def __init__(
        self,
        image_size: int,
        in_channels: int,
        model_channels: int,
        out_channels: int,
        num_res_blocks: int,
        attention_resolutions: Sequence[int],
        dropout: float = 0.0,
        channel_mult: Sequence[float] = (1, 2, 4, 8),
        conv_resample: bool = True,
        dims: int = 2,
        num_classes: int | None = None,
        num_heads: int = 1,
        num_head_channels: int = -1,
        num_heads_upsample: int = -1,
        use_scale_shift_norm: bool = False,
        resblock_updown: bool = False,
        use_new_attention_order: bool = False,
    ):
        super().__init__()
        self.image_size = image_size
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_classes = num_classes
        self.model_channels = model_channels
        # The precision of the input, middle and output blocks (the reference's `dtype` with
        # use_fp16); None runs them in the input's. The embeddings and the output head keep theirs.
        self.trunk_dtype: torch.dtype | None = None
        attention_levels = _attention_set(attention_resolutions)
        if num_heads_upsample == -1:
            num_heads_upsample = num_heads

        encoder = _Encoder(
            in_channels, model_channels, num_res_blocks, attention_levels, dropout, channel_mult,
            conv_resample, dims, num_heads, num_head_channels, use_scale_shift_norm, resblock_updown,
            use_new_attention_order,
        )
        # Registered flat, under the release's names.
        self.time_embed = encoder.time_embed
        if num_classes is not None:
            self.label_emb = nn.Embedding(num_classes, model_channels * 4)
        self.input_blocks = encoder.input_blocks
        self.middle_block = encoder.middle_block

        skip_chans = list(encoder.input_block_chans)
        ch, ds = encoder.channels, encoder.downsampling
        self.output_blocks = nn.ModuleList([])
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks + 1):
                layers: list[nn.Module] = [encoder._res_block(ch + skip_chans.pop(), int(model_channels * mult))]
                ch = int(model_channels * mult)
                if ds in attention_levels:
                    layers.append(
                        AttentionBlock(
                            ch,
                            num_heads=num_heads_upsample,
                            num_head_channels=num_head_channels,
                            use_new_attention_order=use_new_attention_order,
                        )
                    )
                if level and i == num_res_blocks:
                    layers.append(
                        encoder._res_block(ch, ch, up=True)
                        if resblock_updown
                        else Upsample(ch, conv_resample, dims=dims, out_channels=ch)
                    )
                    ds //= 2
                self.output_blocks.append(TimestepEmbedSequential(*layers))

        input_ch = int(channel_mult[0] * model_channels)
        self.out = nn.Sequential(
            normalization(ch),
            nn.SiLU(),
            zero_module(conv_nd(dims, input_ch, out_channels, 3, padding=1)),
        )

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if (y is not None) != (self.num_classes is not None):
            raise ValueError("pass y exactly when the model is class-conditional")
        dtype = next(self.time_embed.parameters()).dtype
        emb = self.time_embed(timestep_embedding(timesteps, self.model_channels, dtype=dtype))
        if self.num_classes is not None:
            emb = emb + self.label_emb(y)
        skips = []
        h = x if self.trunk_dtype is None else x.type(self.trunk_dtype)
        for module in self.input_blocks:
            h = module(h, emb)
            skips.append(h)
        h = self.middle_block(h, emb)
        for module in self.output_blocks:
            h = module(torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(h.type(x.dtype))


class EncoderUNetModel(nn.Module):
    """The UNet's encoder half with a pooling head: logits of p(y | x_t, t)."""

    def __init__(
        self,
        image_size: int,
        in_channels: int,
        model_channels: int,
        out_channels: int,
        num_res_blocks: int,
        attention_resolutions: Sequence[int],
        dropout: float = 0.0,
        channel_mult: Sequence[float] = (1, 2, 4, 8),
        conv_resample: bool = True,
        dims: int = 2,
        num_heads: int = 1,
        num_head_channels: int = -1,
        use_scale_shift_norm: bool = False,
        resblock_updown: bool = False,
        use_new_attention_order: bool = False,
        pool: str = "adaptive",
    ):
        super().__init__()
        self.model_channels = model_channels
        self.out_channels = out_channels
        encoder = _Encoder(
            in_channels, model_channels, num_res_blocks, _attention_set(attention_resolutions), dropout,
            channel_mult, conv_resample, dims, num_heads, num_head_channels, use_scale_shift_norm,
            resblock_updown, use_new_attention_order,
        )
        self.time_embed = encoder.time_embed
        self.input_blocks = encoder.input_blocks
        self.middle_block = encoder.middle_block
        ch, ds = encoder.channels, encoder.downsampling
        if pool == "attention":
            if num_head_channels == -1:
                raise ValueError("attention pooling needs num_head_channels")
            self.out = nn.Sequential(
                normalization(ch),
                nn.SiLU(),
                AttentionPool2d(image_size // ds, ch, num_head_channels, out_channels),
            )
        elif pool == "adaptive":
            self.out = nn.Sequential(
                normalization(ch),
                nn.SiLU(),
                nn.AdaptiveAvgPool2d((1, 1)),
                zero_module(conv_nd(dims, ch, out_channels, 1)),
                nn.Flatten(),
            )
        else:
            raise ValueError(f"unsupported pool {pool!r}: use 'attention' or 'adaptive'")

    def features(self, x: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """Activations before the head."""
        dtype = next(self.time_embed.parameters()).dtype
        emb = self.time_embed(timestep_embedding(timesteps, self.model_channels, dtype=dtype))
        h = x
        for module in self.input_blocks:
            h = module(h, emb)
        return self.middle_block(h, emb).type(x.dtype)

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x, timesteps))
