"""The tutorials' own module classes, as the tutorials define them, and .pth files both ways.

save DIR: for each preset, seeded weights saved by torch.save as a state_dict (zip and legacy format) and
in the tutorials' dict pattern, and the same weights as safetensors (torch_reference.safetensors_bytes).
load DIR PRESET...: reads DIR/PRESET-java.pth with torch.load(weights_only=True), loads it into the tutorial's
class with load_state_dict(strict=True), and writes its logits on DIR/PRESET-input.u8 (uint8 images, N x S x S,
normalised as DIR/PRESET-input.json says) to DIR/PRESET-torch-logits.f32.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', '..', 'main', 'python'))
from torch_reference import safetensors_bytes  # noqa: E402


class LeNet5(nn.Module):
    """Tutorials 000 and 004."""

    def __init__(self):
        super(LeNet5, self).__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class Net(nn.Module):
    """Tutorial 002 (on 32x32 images)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class cnn(nn.Module):
    """Tutorial 001."""

    def __init__(self):
        super(cnn, self).__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 10, kernel_size=5), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(10, 20, kernel_size=5), nn.ReLU())
        self.maxpool = nn.MaxPool2d(2)
        self.drop = nn.Dropout2d(0.25)
        self.fc3 = nn.Sequential(nn.Linear(2000, 100), nn.ReLU())
        self.fc4 = nn.Sequential(nn.Linear(100, 10), nn.ReLU())

    def forward(self, x):
        x = self.conv1(x)
        x = self.conv2(x)
        x = self.maxpool(x)
        x = self.drop(x)
        x = x.view(-1, 2000)
        x = self.fc3(x)
        return self.fc4(x)


def cnn3():
    """Tutorial 003."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(),
        nn.Conv2d(32, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 8, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(968, 512), nn.Linear(512, 128), nn.Linear(128, 10))


MODULES = {'lenet5': LeNet5, 'lenet5-adam': LeNet5, 'lenet5-32': Net, 'cnn-dropout': cnn, 'cnn3': cnn3}


def save(directory):
    for seed, (preset, make) in enumerate(MODULES.items()):
        torch.manual_seed(seed)
        net = make()
        path = os.path.join(directory, preset)
        torch.save(net.state_dict(), path + '.pth')
        torch.save(net.state_dict(), path + '-legacy.pth', _use_new_zipfile_serialization=False)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
        torch.save({'epoch': 2, 'model_state_dict': net.state_dict(),
                    'optimizer_state_dict': optimizer.state_dict(), 'loss': 0.25}, path + '-dict.pth')
        with open(path + '.safetensors', 'wb') as f:
            f.write(safetensors_bytes(net.state_dict()))
    # LeNet-5's weights as other dtypes and as views that are not contiguous, each with its float32 reference
    state = LeNet5().state_dict()
    variants = {'float64': {k: v.double() for k, v in state.items()},
                'float16': {k: v.half() for k, v in state.items()},
                'bfloat16': {k: v.bfloat16() for k, v in state.items()},
                'strided': {k: v.t().contiguous().t() if v.dim() == 2 else v[::1] for k, v in state.items()}}
    variants['strided']['conv1.weight'] = state['conv1.weight'].permute(3, 2, 1, 0).contiguous().permute(3, 2, 1, 0)
    assert not variants['strided']['fc1.weight'].is_contiguous()
    for name, tensors in variants.items():
        path = os.path.join(directory, 'lenet5-' + name)
        torch.save(tensors, path + '.pth')
        torch.save(tensors, path + '-legacy.pth', _use_new_zipfile_serialization=False)
        with open(path + '.safetensors', 'wb') as f:
            f.write(safetensors_bytes({k: v.float().contiguous() for k, v in tensors.items()}))


def load(directory, presets):
    for preset in presets:
        path = os.path.join(directory, preset)
        net = MODULES[preset]()
        state = torch.load(path + '-java.pth', weights_only=True)
        net.load_state_dict(state, strict=True)
        net.eval()
        with open(path + '-input.json') as f:
            spec = json.load(f)
        with open(path + '-input.u8', 'rb') as f:
            pixels = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)
        x = pixels.reshape(-1, 1, spec['size'], spec['size']).float() / 255
        x = (x - spec['mean']) / spec['std']
        with torch.no_grad():
            logits = net(x).contiguous()
        with open(path + '-torch-logits.f32', 'wb') as f:
            f.write(logits.numpy().astype('<f4').tobytes())
    print('torch', torch.__version__)


if __name__ == '__main__':
    if sys.argv[1] == 'save':
        save(sys.argv[2])
    else:
        load(sys.argv[2], sys.argv[3:])
