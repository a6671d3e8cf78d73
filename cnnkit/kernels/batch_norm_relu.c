/* BatchNormalization in training followed by ReLU, over channels-last float32 images, in fewer
 * passes over memory than torch's batch_norm + relu: forward reads x twice and writes y once;
 * backward reads x and dy twice and writes dx once, recomputing the ReLU mask from x.
 *
 * x is (pixels, channels), row-major. Per-channel sums are taken in double; the forward's are
 * shifted by the first pixel against cancellation. The mask is `fmaf(x, scale, shift) > 0` in
 * both directions, so backward sees exactly the forward's zeros. Threads: OpenMP, in the libgomp
 * torch has already loaded (same soname), so one thread pool. Both return 0, or -1 when memory for
 * the per-channel sums cannot be had.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Batch mean, biased variance and 1/sqrt(variance + epsilon) per channel; then
 * scale = gamma * invstd, shift = beta - mean * scale and y = max(x * scale + shift, 0). */
int bn_relu_forward(const float *x, float *y, int64_t pixels, int64_t channels, const float *gamma,
                     const float *beta, double epsilon, float *mean, float *variance, float *invstd,
                     float *scale, float *shift)
{
    double *sums = calloc(2 * channels, sizeof(double)), *squares = sums + channels;
    const float *origin = x;
    if (!sums)
        return -1;
#pragma omp parallel for schedule(static) reduction(+ : sums[:channels], squares[:channels])
    for (int64_t p = 0; p < pixels; p++) {
        const float *row = x + p * channels;
        for (int64_t c = 0; c < channels; c++) {
            double d = row[c] - origin[c];
            sums[c] += d;
            squares[c] += d * d;
        }
    }
    for (int64_t c = 0; c < channels; c++) {
        double shifted_mean = sums[c] / pixels;
        double var = squares[c] / pixels - shifted_mean * shifted_mean;
        var = var > 0 ? var : 0;
        double inv = 1.0 / sqrt(var + epsilon);
        double batch_mean = shifted_mean + origin[c];
        mean[c] = (float)batch_mean;
        variance[c] = (float)var;
        invstd[c] = (float)inv;
        scale[c] = (float)(gamma[c] * inv);
        shift[c] = (float)(beta[c] - batch_mean * gamma[c] * inv);
    }
    free(sums);
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < pixels; p++) {
        const float *row = x + p * channels;
        float *out = y + p * channels;
        for (int64_t c = 0; c < channels; c++) {
            float z = fmaf(row[c], scale[c], shift[c]);
            out[c] = z > 0.0f ? z : 0.0f; /* fmaxf would not vectorize without -ffast-math */
        }
    }
    return 0;
}

/* dx, dgamma and dbeta of the forward above, from x, dy and the forward's per-channel values. */
int bn_relu_backward(const float *x, const float *dy, float *dx, int64_t pixels, int64_t channels,
                      const float *gamma, const float *mean, const float *invstd, const float *scale,
                      const float *shift, float *dgamma, float *dbeta)
{
    double *grads = calloc(2 * channels, sizeof(double)), *centered = grads + channels;
    float *mean_grad = malloc(3 * channels * sizeof(float)), *slope = mean_grad + channels;
    float *factor = slope + channels;
    if (!grads || !mean_grad) {
        free(grads);
        free(mean_grad);
        return -1;
    }
#pragma omp parallel for schedule(static) reduction(+ : grads[:channels], centered[:channels])
    for (int64_t p = 0; p < pixels; p++) {
        const float *row = x + p * channels, *grad = dy + p * channels;
        for (int64_t c = 0; c < channels; c++) {
            float z = fmaf(row[c], scale[c], shift[c]);
            float g = z > 0.0f ? grad[c] : 0.0f;
            grads[c] += g;
            centered[c] += g * (row[c] - mean[c]);
        }
    }
    for (int64_t c = 0; c < channels; c++) {
        dbeta[c] = (float)grads[c];
        dgamma[c] = (float)(centered[c] * invstd[c]);
        mean_grad[c] = (float)(grads[c] / pixels);
        slope[c] = (float)(centered[c] / pixels * invstd[c] * invstd[c]);
        factor[c] = gamma[c] * invstd[c];
    }
    free(grads);
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < pixels; p++) {
        const float *row = x + p * channels, *grad = dy + p * channels;
        float *out = dx + p * channels;
        for (int64_t c = 0; c < channels; c++) {
            float z = fmaf(row[c], scale[c], shift[c]);
            float g = z > 0.0f ? grad[c] : 0.0f;
            out[c] = (g - mean_grad[c] - (row[c] - mean[c]) * slope[c]) * factor[c];
        }
    }
    free(mean_grad);
    return 0;
}
