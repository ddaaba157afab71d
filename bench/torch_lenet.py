"""A float LeNet trained in PyTorch and exported with torch.onnx.export: the pretrained model
that `bench/experiment.mjs --onnx` imports, fine-tunes at 4 bits and unlearns on
(bench/UNLEARNING.md, "lenet imported from PyTorch"). Not part of the tests.

    /usr/bin/python3 bench/torch_lenet.py [--out bench/out/torch_lenet.onnx] [--epochs 3] [--seed 1]

The layer chain of qforget's built-in lenet (conv5x5 16 same, ReLU, maxpool 2, conv5x5 32
same, ReLU, maxpool 2, flatten, fc 128, ReLU, fc 10) on 1x28x28 floats = pixel / 255,
trained on Fashion-MNIST training images 20000-59999 only: the experiment's data are the
first 10,000 (--train-limit 10000), so pretraining never sees them. SGD with momentum 0.9,
lr 0.05 cosine, batch 64, weight decay 5e-4, CPU, seeded. Opset 13, eval mode, the batch
axis dynamic. Reads the IDX files of Debian's dataset-fashion-mnist with numpy.
"""
import argparse
import gzip
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'
PRETRAIN = slice(20000, 60000)  # disjoint from the experiment's first 10,000


def read_idx(name):
    """An IDX file of unsigned bytes as a numpy array of its dims."""
    with gzip.open(os.path.join(FASHION_MNIST_DIR, name), 'rb') as f:
        data = f.read()
    if data[2] != 0x08:
        raise ValueError(f'{name}: not unsigned bytes (type 0x{data[2]:02x})')
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    prefix = 'train' if split == 'train' else 't10k'
    x = read_idx(f'{prefix}-images-idx3-ubyte.gz')
    y = read_idx(f'{prefix}-labels-idx1-ubyte.gz')
    return torch.from_numpy(x.astype(np.float32) / 255).unsqueeze(1), torch.from_numpy(y.astype(np.int64))


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
                   for i in range(0, len(y), 1000)) / len(y)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', default='bench/out/torch_lenet.onnx')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # a shared 2-core machine; also keeps the run reproducible
    train_x, train_y = load('train')
    train_x, train_y = train_x[PRETRAIN], train_y[PRETRAIN]
    test_x, test_y = load('test')

    model = LeNet()
    batch = 64
    steps = args.epochs * math.ceil(len(train_y) / batch)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    started = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_y))
        total = 0.0
        for i in range(0, len(order), batch):
            ids = order[i:i + batch]
            loss = F.cross_entropy(model(train_x[ids]), train_y[ids])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(ids)
        print(f'epoch {epoch + 1}: loss {total / len(order):.4f}, test accuracy '
              f'{100 * accuracy(model, test_x, test_y):.2f} % ({time.time() - started:.0f} s)', flush=True)

    model.eval()
    os.makedirs(os.path.dirname(args.out) or '.', exist_ok=True)
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), args.out, opset_version=13,
                      input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
    print(f'{args.out}: {os.path.getsize(args.out)} bytes, pretrained on Fashion-MNIST training '
          f'images {PRETRAIN.start}-{PRETRAIN.stop - 1}, {args.epochs} epochs, seed {args.seed}')


if __name__ == '__main__':
    main()
