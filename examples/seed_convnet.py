"""The reference program: the seed's small convnet on MNIST, with only its imports changed.

Run from the project root:  CNNKIT_DATA=../shared/datasets .venv/bin/python examples/seed_convnet.py
Expected: the summary below, 5 epochs of training, test accuracy about 0.99 (seed: 0.9923).
"""
# A small convnet
from cnnkit import layers
from cnnkit import models

model = models.Sequential()
model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.summary()
# expected rows: conv2d (None, 26, 26, 32) 320; max_pooling2d (None, 13, 13, 32) 0;
# conv2d_1 (None, 11, 11, 64) 18496; max_pooling2d_1 (None, 5, 5, 64) 0;
# conv2d_2 (None, 3, 3, 64) 36928; total 55,744

# Adding a classifier on top of the convnet
model.add(layers.Flatten())
model.add(layers.Dense(64, activation='relu'))
model.add(layers.Dense(10, activation='softmax'))
model.summary()
# adds: flatten (None, 576) 0; dense (None, 64) 36928; dense_1 (None, 10) 650; total 93,322

# Training the convnet on MNIST images
from cnnkit.datasets import mnist
from cnnkit.utils import to_categorical

(train_images, train_labels), (test_images, test_labels) = mnist.load_data()

train_images = train_images.reshape((60000, 28, 28, 1))
train_images = train_images.astype('float32') / 255

test_images = test_images.reshape((10000, 28, 28, 1))
test_images = test_images.astype('float32') / 255

train_labels = to_categorical(train_labels)
test_labels = to_categorical(test_labels)

model.compile(optimizer='rmsprop',
              loss='categorical_crossentropy',
              metrics=['accuracy'])
model.fit(train_images, train_labels, epochs=5, batch_size=64)

# Evaluate the model on test data
test_loss, test_acc = model.evaluate(test_images, test_labels)
print("test_acc", test_acc)
