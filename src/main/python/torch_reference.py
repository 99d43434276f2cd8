#!/usr/bin/env python3
"""PyTorch reference runs of gpu-lenet's networks, for side-by-side timing and accuracy.

The same network, loss (mean softmax cross-entropy), optimizer and input transform as gpu-lenet, with
the whole data set normalised and moved to the device once (no DataLoader): PyTorch at its best for
these small models. `gpu-lenet bench --pytorch "python3 src/main/python/torch_reference.py"` runs it
with --data, --device, --batch, --epochs, --lr, --momentum, --seed (and --threads on the CPU) and reads
the JSON line it prints after each epoch (train_s, images_per_s, test_acc, test_correct of test_images,
torch, ...). --save writes the final state_dict as safetensors, which gpu-lenet's eval --model NAME reads.

Models (parameter names as in the tutorials, so state_dicts load either way):
  lenet5       conv1 5x5 pad 2, 28x28 input; SGD lr 0.05 momentum 0.9, lr x0.7 per epoch, (x-0.5)/0.5
               (gpu-lenet's defaults); with --optimizer adam: Adam lr 0.001, x/255
  lenet5-adam  the same network with Adam lr 0.001 on x/255 (tutorial 004; gpu-lenet's preset of that name)
  lenet5-32    conv1 unpadded, input resized to 32x32 (PIL bilinear, as torchvision's Resize((32,32)));
               SGD lr 0.001 momentum 0.9, (x-0.1307)/0.3081
  cnn-dropout  2 conv, Dropout2d(0.25), 2 linear (ReLU on the logits); SGD lr 0.01, (x-0.5)/0.5
  cnn3         3 conv, 3 linear (nn.Sequential); Adam lr 0.0001, x/255
Modes: eager; graph (one whole training step captured in a CUDA graph, cuda only); compile
(torch.compile of the whole step, PyTorch 2.x).
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SCRIPT = os.path.basename(__file__)
# The MNIST copy gpu-lenet embeds in its jar, beside this script in the source tree.
DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'resources', 'mnist')


class UserError(Exception):
    """A bad flag or input: reported in one line on stderr, exit code 2."""


class LeNet5(nn.Module):
    """conv1 -> ReLU -> pool -> conv2 -> ReLU -> pool -> fc1 -> ReLU -> fc2 -> ReLU -> fc3 (logits)."""

    def __init__(self, padding):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=padding)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class CnnDropout(nn.Module):
    """The dropout tutorial's network; its ReLU after the last Linear is kept, so the loss sees ReLU(logits)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 10, 5), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(10, 20, 5), nn.ReLU())
        self.maxpool = nn.MaxPool2d(2)
        self.drop = nn.Dropout2d(0.25)
        self.fc3 = nn.Sequential(nn.Linear(2000, 100), nn.ReLU())
        self.fc4 = nn.Sequential(nn.Linear(100, 10), nn.ReLU())

    def forward(self, x):
        x = self.drop(self.maxpool(self.conv2(self.conv1(x))))
        return self.fc4(self.fc3(x.view(-1, 2000)))


def cnn3():
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 16, 3), nn.ReLU(), nn.Conv2d(16, 8, 3),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(968, 512), nn.Linear(512, 128),
                         nn.Linear(128, 10))


# name -> (constructor, input side, default optimizer, default resize)
MODELS = {
    'lenet5': (lambda: LeNet5(padding=2), 28, 'sgd', None),
    'lenet5-adam': (lambda: LeNet5(padding=2), 28, 'adam', None),
    'lenet5-32': (lambda: LeNet5(padding=0), 32, 'sgd', 32),
    'cnn-dropout': (CnnDropout, 28, 'sgd', None),
    'cnn3': (cnn3, 28, 'adam', None),
}
# The tutorials' set-ups (gpu-lenet's own for lenet5 with SGD): lr, momentum, lr decay per epoch, Normalize.
SETUPS = {
    ('lenet5', 'sgd'): dict(lr=0.05, momentum=0.9, lr_decay=0.7, normalize=(0.5, 0.5)),
    ('lenet5', 'adam'): dict(lr=0.001, normalize=None),
    ('lenet5-adam', 'adam'): dict(lr=0.001, normalize=None),
    ('lenet5-32', 'sgd'): dict(lr=0.001, momentum=0.9, normalize=(0.1307, 0.3081)),
    ('cnn-dropout', 'sgd'): dict(lr=0.01, momentum=0.0, normalize=(0.5, 0.5)),
    ('cnn3', 'adam'): dict(lr=0.0001, normalize=None),
}
FILES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
         'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}


def parse_args(argv):
    ap = argparse.ArgumentParser(prog=SCRIPT, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', default=DEFAULT_DATA,
                    help='directory with the four MNIST IDX files, raw or .gz (default: the MNIST gpu-lenet embeds)')
    ap.add_argument('--model', default='lenet5', choices=list(MODELS))
    ap.add_argument('--optimizer', choices=['sgd', 'adam'], help="default: the model's tutorial optimizer")
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', choices=['cpu', 'cuda'])
    ap.add_argument('--mode', default='eager', choices=['eager', 'graph', 'compile'])
    ap.add_argument('--epochs', type=int, default=8)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, help="default: the set-up's (see above)")
    ap.add_argument('--momentum', type=float, help='SGD only; default: the set-up\'s')
    ap.add_argument('--lr-decay', type=float, help='lr multiplied by this after every epoch; default: the set-up\'s or 1')
    ap.add_argument('--normalize', metavar='MEAN,STD|none', help="(x/255 - MEAN)/STD, or x/255; default: the set-up's")
    ap.add_argument('--resize', metavar='SIZE|none', help='resize the images to SIZExSIZE once at load time '
                    "(PIL bilinear, as torchvision's Resize); default: 32 for lenet5-32, none otherwise")
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=0, help='torch CPU threads (default: torch decides)')
    ap.add_argument('--limit', type=int, default=0, help='use only the first N images of each split (quick checks)')
    ap.add_argument('--save', metavar='FILE.safetensors',
                    help='write the final state_dict as safetensors: with the safetensors package when this Python '
                    'has it, else with a writer of its own that gives the same bytes')
    return ap.parse_args(argv)


def resolve(a):
    """Fills the per-set-up defaults into the parsed flags and checks what argparse cannot."""
    optimizer = a.optimizer or MODELS[a.model][2]
    setup = SETUPS.get((a.model, optimizer))
    if a.lr is None and setup is None:
        raise UserError(f'--model {a.model} with --optimizer {optimizer} has no tutorial set-up: give --lr')
    setup = setup or dict(normalize=SETUPS[(a.model, MODELS[a.model][2])]['normalize'])
    if optimizer == 'adam' and a.momentum is not None:
        raise UserError('--momentum applies to --optimizer sgd only')
    for flag, value in (('--epochs', a.epochs), ('--batch', a.batch)):
        if value <= 0:
            raise UserError(f'{flag} must be positive, got {value}')
    if a.limit < 0:
        raise UserError(f'--limit must not be negative, got {a.limit}')
    a.optimizer = optimizer
    a.lr = setup['lr'] if a.lr is None else a.lr
    a.momentum = setup.get('momentum', 0.0) if a.momentum is None else a.momentum
    a.lr_decay = setup.get('lr_decay', 1.0) if a.lr_decay is None else a.lr_decay
    a.normalize = setup['normalize'] if a.normalize is None else parse_normalize(a.normalize)
    a.resize = MODELS[a.model][3] if a.resize is None else parse_resize(a.resize)
    if a.mode == 'graph' and a.device != 'cuda':
        raise UserError('--mode graph captures a CUDA graph: it needs --device cuda')
    if a.mode == 'compile' and not hasattr(torch, 'compile'):
        raise UserError(f'--mode compile needs PyTorch 2.x (torch.compile); this is torch {torch.__version__}')
    if a.save and not os.path.isdir(os.path.dirname(os.path.abspath(a.save))):
        raise UserError(f'--save {a.save}: no such directory')  # found now, not after the training
    if a.device == 'cuda' and not torch.cuda.is_available():
        raise UserError(f'--device cuda: CUDA is not available to this torch ({torch.__version__}, '
                        f'built for CUDA {torch.version.cuda or "none"})')
    return a


def parse_normalize(text):
    if text == 'none':
        return None
    try:
        mean, std = (float(v) for v in text.split(','))
    except ValueError:
        raise UserError(f'--normalize takes MEAN,STD or none, got {text}')
    if std == 0:
        raise UserError('--normalize: STD must not be 0')
    return mean, std


def parse_resize(text):
    if text == 'none':
        return None
    if not text.isdigit() or int(text) == 0:
        raise UserError(f'--resize takes a positive size or none, got {text}')
    return int(text)


def read_idx(directory, name):
    """An IDX file as a uint8 array, from NAME or NAME.gz."""
    for path, opener in ((os.path.join(directory, name), open), (os.path.join(directory, name + '.gz'), gzip.open)):
        if os.path.exists(path):
            try:
                with opener(path, 'rb') as f:
                    b = f.read()
                dims = tuple(int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(b[3]))
                if b[:3] != b'\0\0\x08' or len(b) != 4 + 4 * len(dims) + int(np.prod(dims)):
                    raise ValueError('not a uint8 IDX file of the size its header gives')
            except (OSError, ValueError, IndexError) as e:
                raise UserError(f'{path}: {e}')
            return np.frombuffer(b, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)
    raise UserError(f'{directory}: no {name} or {name}.gz')


def resize(images, size):
    """Each uint8 image resized to size x size by PIL's bilinear filter: what torchvision's Resize((size, size))
    does to a PIL image (its antialias flag does not apply to PIL images)."""
    try:
        from PIL import Image
    except ImportError:
        raise UserError('--resize needs Pillow (PIL), which this Python cannot import')
    return np.stack([np.asarray(Image.fromarray(im, mode='L').resize((size, size), Image.BILINEAR)) for im in images])


def load_split(a, split, side, dev):
    """The split's images as normalised float32 [N,1,side,side] and labels as int64, on the device."""
    images, labels = (read_idx(a.data, name) for name in FILES[split])
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        raise UserError(f'{a.data}: the {split} files hold images {list(images.shape)} and labels {list(labels.shape)}')
    if a.limit:
        images, labels = images[:a.limit], labels[:a.limit]
    if a.resize:
        images = resize(images, a.resize)
    if images.shape[1:] != (side, side):
        raise UserError(f'--model {a.model} takes {side}x{side} images; {split} images are '
                        f'{images.shape[1]}x{images.shape[2]}' + (f' after --resize {a.resize}' if a.resize else
                                                                  f' (--resize {side}?)'))
    # ToTensor then Normalize, in float32 as torchvision computes them (mean and std rounded to float32)
    x = torch.from_numpy(images.copy()).to(dev).float().div_(255).unsqueeze(1)
    if a.normalize:
        x = x.sub_(torch.tensor(a.normalize[0])).div_(torch.tensor(a.normalize[1]))
    return x, torch.from_numpy(labels.astype(np.int64)).to(dev)


def make_optimizer(a, params):
    if a.optimizer == 'adam':
        # capturable keeps Adam's step count on the device, which a CUDA graph needs
        return torch.optim.Adam(params, lr=a.lr, capturable=a.mode == 'graph')
    return torch.optim.SGD(params, lr=a.lr, momentum=a.momentum)


class GraphStep:
    """One whole training step (zero_grad, forward, loss, backward, optimizer step) as a CUDA graph over
    static input buffers. Capture needs the optimizer state to exist, so a few warm-up steps run first;
    then the parameters are put back and the state zeroed, which is exactly a fresh optimizer's first step
    (SGD: buf = 0*m + g = g; Adam: t, m, v = 0). The lr is baked into the graph: recapture() after a change."""

    def __init__(self, step, net, opt, x, y):
        self.step, self.opt = step, opt
        self.x, self.y = x.clone(), y.clone()
        initial = [p.detach().clone() for p in net.parameters()]
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                step(self.x, self.y)
        torch.cuda.current_stream().wait_stream(s)
        with torch.no_grad():
            for p, p0 in zip(net.parameters(), initial):
                p.copy_(p0)
            for state in opt.state.values():
                for v in state.values():
                    if torch.is_tensor(v):
                        v.zero_()
        self.recapture()

    def recapture(self):
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.loss = self.step(self.x, self.y)

    def __call__(self, x, y):
        self.x.copy_(x)
        self.y.copy_(y)
        self.graph.replay()
        return self.loss


def evaluate(net, x, y):
    """Test loss (mean) and the number of correct predictions (argmax, the first on ties), in eval mode
    (dropout off), 1000 images at a time."""
    net.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for k in range(0, len(x), 1000):
            z = net(x[k:k + 1000])
            loss += F.cross_entropy(z, y[k:k + 1000], reduction='sum').item()
            correct += (z.argmax(1) == y[k:k + 1000]).sum().item()
    net.train()
    return loss / len(x), correct


# safetensors' dtypes in the order of its Dtype enum (increasing alignment): save_file writes the tensors
# sorted by that order, descending, then by name
SAFETENSORS_DTYPES = [(torch.bool, 'BOOL'), (torch.uint8, 'U8'), (torch.int8, 'I8'), (torch.int16, 'I16'),
                      (torch.float16, 'F16'), (torch.int32, 'I32'), (torch.float32, 'F32'), (torch.float64, 'F64'),
                      (torch.int64, 'I64')]


def safetensors_bytes(tensors, metadata=None):
    """What safetensors.torch.save_file(tensors, path, metadata) writes, for CPU tensors of the dtypes above:
    an 8-byte little-endian header length, the JSON header (compact, "__metadata__" first, then each tensor's
    dtype, shape and data_offsets) padded with spaces to a multiple of 8, then the tensors' little-endian bytes
    back to back in header order. The package writes the metadata keys in its hash map's order, which varies
    from run to run; here they keep the order given."""
    rank = {dtype: (i, name) for i, (dtype, name) in enumerate(SAFETENSORS_DTYPES)}
    for k, v in tensors.items():
        if v.dtype not in rank:
            raise UserError(f'--save: tensor {k} is {v.dtype}, which this writer does not handle (install safetensors)')
    header, data, offset = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for k in sorted(tensors, key=lambda k: (-rank[tensors[k].dtype][0], k)):
        v = tensors[k].detach().cpu().contiguous().numpy()
        b = v.astype(v.dtype.newbyteorder('<')).tobytes()
        header[k] = {'dtype': rank[tensors[k].dtype][1], 'shape': list(v.shape), 'data_offsets': [offset, offset + len(b)]}
        data.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode()
    text += b' ' * (-len(text) % 8)
    return b''.join([len(text).to_bytes(8, 'little'), text] + data)


def save(a, net):
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    metadata = {
        'model': a.model, 'optimizer': a.optimizer, 'lr': str(a.lr), 'momentum': str(a.momentum),
        'lr_decay': str(a.lr_decay), 'normalize': json.dumps(a.normalize), 'resize': json.dumps(a.resize),
        'epochs': str(a.epochs), 'batch_size': str(a.batch), 'seed': str(a.seed), 'torch': torch.__version__}
    try:
        from safetensors.torch import save_file
    except ImportError:
        try:
            with open(a.save, 'wb') as f:
                f.write(safetensors_bytes(state, metadata))
        except OSError as e:
            raise UserError(f'--save {a.save}: {e.strerror or e}')
    else:
        save_file(state, a.save, metadata=metadata)


def train(a):
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    build, side = MODELS[a.model][:2]
    xtr, ytr = load_split(a, 'train', side, dev)
    xte, yte = load_split(a, 'test', side, dev)
    net = build().to(dev)
    opt = make_optimizer(a, net.parameters())
    B = a.batch
    # eager trains every image, the last batch short, as gpu-lenet does; a graph or a compiled step has one shape
    N = len(xtr) if a.mode == 'eager' else len(xtr) // B * B
    if N == 0:
        raise UserError(f'--batch {B} is larger than the {len(xtr)} training images')
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)

    def step(x, y):
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    run = step
    if a.mode == 'compile':
        run = torch.compile(step, mode='reduce-overhead' if dev.type == 'cuda' else 'default')
    elif a.mode == 'graph':
        run = GraphStep(step, net, opt, xtr[:B], ytr[:B])

    for ep in range(a.epochs):
        lr = a.lr * a.lr_decay ** ep
        if lr != opt.param_groups[0]['lr']:
            for g in opt.param_groups:
                g['lr'] = lr
            if a.mode == 'graph':
                run.recapture()
        perm = torch.randperm(len(xtr), device=dev)
        sync()
        t0 = time.perf_counter()
        for k in range(0, N, B):
            i = perm[k:k + B]
            loss = run(xtr[i], ytr[i])
        sync()
        t1 = time.perf_counter()
        last_loss = loss.item()
        test_loss, test_correct = evaluate(net, xte, yte)
        print(json.dumps({'epoch': ep + 1, 'model': a.model, 'optimizer': a.optimizer, 'device': a.device,
                          'mode': a.mode, 'batch': B, 'lr': lr, 'images': N, 'train_s': round(t1 - t0, 4),
                          'images_per_s': round(N / (t1 - t0)), 'last_loss': round(last_loss, 4),
                          'test_loss': round(test_loss, 4), 'test_acc': round(test_correct / len(xte) * 100, 2),
                          'test_correct': test_correct, 'test_images': len(xte), 'torch': torch.__version__}),
              flush=True)
    if a.save:
        save(a, net)


def main(argv):
    try:
        train(resolve(parse_args(argv)))
    except UserError as e:
        print(f'{SCRIPT}: {e}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
