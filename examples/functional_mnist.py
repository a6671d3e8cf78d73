"""A Functional convnet on MNIST that ends in global average pooling, written as for Keras.

Run from the project root:
    CNNKIT_DATA=../shared/datasets .venv/bin/python examples/functional_mnist.py [--epochs 5]
Expected: the summary (input_layer row first, 93,962 parameters), training with 10% of the
images held out for validation, then "test_acc 0.98..." (about 0.96 after one epoch).
"""
import argparse

import cnnkit as keras  # the only change from a Keras program: `import keras`

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--seed", type=int, default=1337)
args = parser.parse_args()
keras.utils.set_random_seed(args.seed)

# The model: convolution blocks, then one average per feature map instead of Flatten
inputs = keras.Input(shape=(28, 28, 1))
x = keras.layers.Conv2D(32, 3, activation="relu")(inputs)
x = keras.layers.MaxPooling2D(2)(x)
x = keras.layers.Conv2D(64, 3, activation="relu")(x)
x = keras.layers.MaxPooling2D(2)(x)
x = keras.layers.Conv2D(128, 3, activation="relu")(x)
x = keras.layers.GlobalAveragePooling2D()(x)
outputs = keras.layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
model.summary()

# The data: pixels scaled to [0, 1], integer labels (hence the sparse loss)
(train_images, train_labels), (test_images, test_labels) = keras.datasets.mnist.load_data()
train_images = train_images.reshape((60000, 28, 28, 1)).astype("float32") / 255
test_images = test_images.reshape((10000, 28, 28, 1)).astype("float32") / 255

model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(train_images, train_labels, epochs=args.epochs, batch_size=args.batch_size, validation_split=0.1)

test_loss, test_acc = model.evaluate(test_images, test_labels)
print(f"test_acc {test_acc:.4f}")
