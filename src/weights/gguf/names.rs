//! llama.cpp's tensor names mapped back to the Hugging Face names they were converted from, so a
//! GGUF copy lines up tensor by tensor with the safetensors model it came from. The table
//! follows llama.cpp's converter (`gguf-py`'s tensor mapping) for the common architectures;
//! names it does not know pass through unchanged.

/// Architectures (`general.architecture`) whose q and k projections llama.cpp's converter
/// permutes for its rope (Llama, and Mistral and Mixtral, which it converts as `llama`).
const ROPE_PERMUTED: [&str; 1] = ["llama"];

/// Which of a block's projections a tensor is, for the rope permutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Projection {
    Query,
    Key,
}

/// The q or k projection weight whose rows the converter of `arch` interleaved, if `name` (a
/// GGUF name) is one.
pub(super) fn rope_permuted(arch: &str, name: &str) -> Option<Projection> {
    if !ROPE_PERMUTED.contains(&arch) {
        return None;
    }
    let (_, part) = split_block(name)?;
    match part {
        "attn_q.weight" => Some(Projection::Query),
        "attn_k.weight" => Some(Projection::Key),
        _ => None,
    }
}

/// The Hugging Face name of GGUF tensor `name` in a model of architecture `arch`.
pub fn hf_name(arch: &str, name: &str) -> String {
    let family = Family::of(arch);
    if let Some((layer, part)) = split_block(name) {
        let (stem, suffix) = split_suffix(part);
        if let Some(mapped) = family.block(arch, stem) {
            return format!("{}{layer}.{mapped}{suffix}", family.layer_prefix());
        }
        return name.to_string();
    }
    let (stem, suffix) = split_suffix(name);
    match family.global(stem) {
        Some(mapped) => format!("{mapped}{suffix}"),
        None => name.to_string(),
    }
}

/// `blk.N.rest` as `(N, rest)`.
fn split_block(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("blk.")?;
    let (layer, part) = rest.split_once('.')?;
    layer
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then_some((layer, part))
}

/// `attn_q.weight` as `("attn_q", ".weight")`; names without a known suffix keep it empty.
fn split_suffix(name: &str) -> (&str, &str) {
    for suffix in [".weight", ".bias"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return (stem, suffix);
        }
    }
    (name, "")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// Decoder-only models laid out as Llama (`model.layers.N.self_attn.q_proj`): llama (and
    /// Mistral, converted as llama), qwen2, qwen3, gemma 1-3, granite, olmo.
    Decoder,
    /// BERT encoders (`encoder.layer.N.attention.self.query`).
    Bert,
    Unknown,
}

impl Family {
    fn of(arch: &str) -> Self {
        match arch {
            "llama" | "qwen2" | "qwen3" | "gemma" | "gemma2" | "gemma3" | "granite" | "olmo"
            | "olmo2" => Self::Decoder,
            "bert" | "nomic-bert" | "jina-bert-v2" => Self::Bert,
            _ => Self::Unknown,
        }
    }

    fn layer_prefix(self) -> &'static str {
        match self {
            Self::Decoder => "model.layers.",
            Self::Bert | Self::Unknown => "encoder.layer.",
        }
    }

    fn global(self, stem: &str) -> Option<&'static str> {
        match (self, stem) {
            (Self::Decoder, "token_embd") => Some("model.embed_tokens"),
            (Self::Decoder, "output_norm") => Some("model.norm"),
            (Self::Decoder, "output") => Some("lm_head"),
            (Self::Bert, "token_embd") => Some("embeddings.word_embeddings"),
            (Self::Bert, "token_types") => Some("embeddings.token_type_embeddings"),
            (Self::Bert, "position_embd") => Some("embeddings.position_embeddings"),
            (Self::Bert, "token_embd_norm") => Some("embeddings.LayerNorm"),
            _ => None,
        }
    }

    fn block(self, arch: &str, stem: &str) -> Option<&'static str> {
        match self {
            Self::Decoder => decoder_block(arch, stem),
            Self::Bert => bert_block(stem),
            Self::Unknown => None,
        }
    }
}

fn decoder_block(arch: &str, stem: &str) -> Option<&'static str> {
    // Gemma 2 and 3 norm around both sub-layers; the converter maps HF's
    // `pre_feedforward_layernorm` to `ffn_norm` there and `post_attention_layernorm` to
    // `post_attention_norm`.
    let sandwich = matches!(arch, "gemma2" | "gemma3");
    Some(match stem {
        "attn_norm" => "input_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "attn_q_norm" => "self_attn.q_norm",
        "attn_k_norm" => "self_attn.k_norm",
        "ffn_norm" if sandwich => "pre_feedforward_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "post_attention_norm" => "post_attention_layernorm",
        "post_ffw_norm" => "post_feedforward_layernorm",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return None,
    })
}

fn bert_block(stem: &str) -> Option<&'static str> {
    Some(match stem {
        "attn_q" => "attention.self.query",
        "attn_k" => "attention.self.key",
        "attn_v" => "attention.self.value",
        "attn_output" => "attention.output.dense",
        "attn_output_norm" => "attention.output.LayerNorm",
        "ffn_up" => "intermediate.dense",
        "ffn_down" => "output.dense",
        "layer_output_norm" => "output.LayerNorm",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_names_map_to_hugging_face_names() {
        let cases = [
            ("token_embd.weight", "model.embed_tokens.weight"),
            ("output_norm.weight", "model.norm.weight"),
            ("output.weight", "lm_head.weight"),
            (
                "blk.0.attn_norm.weight",
                "model.layers.0.input_layernorm.weight",
            ),
            (
                "blk.12.attn_q.weight",
                "model.layers.12.self_attn.q_proj.weight",
            ),
            (
                "blk.3.attn_output.weight",
                "model.layers.3.self_attn.o_proj.weight",
            ),
            (
                "blk.3.ffn_norm.weight",
                "model.layers.3.post_attention_layernorm.weight",
            ),
            (
                "blk.3.ffn_down.weight",
                "model.layers.3.mlp.down_proj.weight",
            ),
            ("rope_freqs.weight", "rope_freqs.weight"),
            ("blk.x.attn_q.weight", "blk.x.attn_q.weight"),
        ];
        for (gguf, hf) in cases {
            assert_eq!(hf_name("llama", gguf), hf, "{gguf}");
        }
    }

    #[test]
    fn qwen2_biases_gemma2_norms_and_bert_layers_map() {
        assert_eq!(
            hf_name("qwen2", "blk.1.attn_k.bias"),
            "model.layers.1.self_attn.k_proj.bias"
        );
        assert_eq!(
            hf_name("gemma2", "blk.1.ffn_norm.weight"),
            "model.layers.1.pre_feedforward_layernorm.weight"
        );
        assert_eq!(
            hf_name("gemma2", "blk.1.post_attention_norm.weight"),
            "model.layers.1.post_attention_layernorm.weight"
        );
        assert_eq!(
            hf_name("bert", "blk.2.attn_q.weight"),
            "encoder.layer.2.attention.self.query.weight"
        );
        assert_eq!(
            hf_name("bert", "token_embd_norm.bias"),
            "embeddings.LayerNorm.bias"
        );
        assert_eq!(
            hf_name("rwkv6", "blk.0.attn_q.weight"),
            "blk.0.attn_q.weight"
        );
    }

    #[test]
    fn only_llama_q_and_k_weights_are_rope_permuted() {
        assert_eq!(
            rope_permuted("llama", "blk.0.attn_q.weight"),
            Some(Projection::Query)
        );
        assert_eq!(
            rope_permuted("llama", "blk.7.attn_k.weight"),
            Some(Projection::Key)
        );
        assert_eq!(rope_permuted("llama", "blk.0.attn_v.weight"), None);
        assert_eq!(rope_permuted("qwen2", "blk.0.attn_q.weight"), None);
        assert_eq!(rope_permuted("gemma", "blk.0.attn_k.weight"), None);
    }
}
