"""Looking inside a convnet: its activations, and where it looks (Grad-CAM), written as for Keras.

Run from the project root:
    CNNKIT_DATA=../shared/datasets .venv/bin/python examples/look_inside.py [MODEL] [--out gradcam.png]
MODEL is a saved MNIST convnet (e.g. runs/<timestamp>/model.cnnkit); without one, a small convnet
trains for one epoch first. Prints each convolution's and pooling's activation shape for one test
digit, then the digit beside the heatmap of the evidence for the predicted class.
"""
import argparse

import numpy as np
import torch

import cnnkit as keras  # the only change from a Keras program (torch backend): `import keras`

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("model", nargs="?", help="a saved model; default: train one")
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--index", type=int, default=0, help="which test digit (default 0)")
parser.add_argument("--out", help="also write the picture to this PNG")
args = parser.parse_args()

(train_images, train_labels), (test_images, test_labels) = keras.datasets.mnist.load_data()
train_images = train_images.reshape((60000, 28, 28, 1)).astype("float32") / 255
img = test_images[args.index].reshape((1, 28, 28, 1)).astype("float32") / 255

if args.model:
    model = keras.models.load_model(args.model)
else:
    keras.utils.set_random_seed(1337)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu", padding="same"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu", padding="same"),
        keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train_images, train_labels, epochs=args.epochs, batch_size=128)

# (a) One model, many outputs: every convolution's and pooling's activations for one digit
looked_at = [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D))]
activation_model = keras.Model(inputs=model.input, outputs=[layer.output for layer in looked_at])
for layer, activation in zip(looked_at, activation_model.predict(img, verbose=0)):
    print(f"activation {layer.name} {tuple(activation.shape)}")

# (b) Grad-CAM: how much each place in the last convolution's output raises the predicted class's score
last_conv = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)][-1]
last_conv_model = keras.Model(model.input, last_conv.output)
x = last_conv.output
for layer in model.layers[model.layers.index(last_conv) + 1:]:
    x = layer(x)
classifier = keras.Model(last_conv.output, x)

features = last_conv_model(img).detach().requires_grad_(True)  # (1, height, width, channels)
preds = classifier(features)
predicted = int(preds[0].argmax())
preds[0, predicted].backward()
channel_weights = features.grad.mean(dim=(0, 1, 2))  # pooled gradient per channel
heatmap = torch.relu((features[0] * channel_weights).sum(dim=-1)).detach().numpy()
heatmap = heatmap / max(heatmap.max(), 1e-12)
print(f"digit {test_labels[args.index]} predicted {predicted} ({preds[0, predicted].item():.3f}), "
      f"heatmap {heatmap.shape}")

# The digit and the heatmap side by side, 14 x 14 characters each
ramp = " .:-=+*#%@"
digit = img[0, :, :, 0].reshape(14, 2, 14, 2).mean(axis=(1, 3))
zoomed = heatmap[np.arange(14) * heatmap.shape[0] // 14][:, np.arange(14) * heatmap.shape[1] // 14]
for d, h in zip(digit, zoomed):
    print("".join(ramp[int(v * 9.99)] * 2 for v in d) + "   " + "".join(ramp[int(v * 9.99)] * 2 for v in h))

if args.out:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    axes[0].imshow(img[0, :, :, 0], cmap="gray")
    axes[0].set_title(f"digit {test_labels[args.index]}")
    axes[1].imshow(img[0, :, :, 0], cmap="gray")
    axes[1].imshow(heatmap, cmap="jet", alpha=0.5, extent=(-0.5, 27.5, 27.5, -0.5))
    axes[1].set_title(f"Grad-CAM for {predicted}")
    for ax in axes:
        ax.axis("off")
    fig.savefig(args.out, dpi=100, bbox_inches="tight")
    print(f"wrote {args.out}")
