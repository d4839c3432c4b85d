"""The model families of the course, each readable top to bottom in its own module."""

from minigrad.models.bert import BERT, BERTConfig, BERTForMaskedLM, BERTForSequenceClassification
from minigrad.models.clip import CLIP, CLIPConfig, CLIPTextConfig, clip_loss
from minigrad.models.gpt2 import GPT2, GPT2Config
from minigrad.models.llama import Llama, LlamaConfig
from minigrad.models.mlp import MLP
from minigrad.models.resnet import BasicBlock, PreActBlock, ResNet
from minigrad.models.sentence import SentenceEncoder, minilm
from minigrad.models.vit import ViT, ViTConfig
