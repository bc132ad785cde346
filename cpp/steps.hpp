// Update rules for parameters whose gradient the user computes (fastdescent.optim): one fused pass
// over each array, in place, no temporaries.  The formulas are torch.optim's; each element is
// independent, so the only order to keep is the order of operations inside one element, which the
// numpy reference (_reference.py: sgd_step, asgd_step, sag_step) writes down.
#pragma once

#include "arch.hpp"

#include <cstddef>

namespace fastdescent {
inline namespace FASTDESCENT_ARCH {

// torch.optim.SGD: g += wd p; b = g on the first step, else mu b + (1 - dampening) g;
// g = nesterov ? g + mu b : b; p -= lr g.
template <class T>
void sgd_step(T* param, const T* grad, T* buffer, std::size_t size, T lr, T momentum, T dampening,
              T weight_decay, bool nesterov, bool first_step) {
    const T keep = T(1) - dampening;
    for (std::size_t i = 0; i < size; ++i) {
        T g = grad[i];
        if (weight_decay != T(0)) g = g + weight_decay * param[i];
        if (momentum != T(0)) {
            T b;
            if (first_step) {
                b = g;
            } else {
                b = momentum * buffer[i] + (dampening != T(0) ? keep * g : g);
            }
            buffer[i] = b;
            g = nesterov ? g + momentum * b : b;
        }
        param[i] = param[i] - lr * g;
    }
}

// torch.optim.ASGD: g += wd p; p *= decay (= 1 - lambda eta); p -= eta g; then
// ax = p when mu == 1, else ax += (p - ax) mu.  eta, decay and mu come from the caller.
template <class T>
void asgd_step(T* param, const T* grad, T* average, std::size_t size, T eta, T decay, T mu, T weight_decay) {
    for (std::size_t i = 0; i < size; ++i) {
        T g = grad[i];
        if (weight_decay != T(0)) g = g + weight_decay * param[i];
        T p = param[i] * decay;
        p = p - eta * g;
        param[i] = p;
        average[i] = mu == T(1) ? p : average[i] + (p - average[i]) * mu;
    }
}

// SAG with a stored gradient per sample: total += g - memory; memory = g;
// p -= lr (total / seen + wd p).
template <class T>
void sag_step(T* param, const T* grad, T* memory, T* total, std::size_t size, T lr, T seen, T weight_decay) {
    for (std::size_t i = 0; i < size; ++i) {
        total[i] = total[i] + (grad[i] - memory[i]);
        memory[i] = grad[i];
        T direction = total[i] / seen;
        if (weight_decay != T(0)) direction = direction + weight_decay * param[i];
        param[i] = param[i] - lr * direction;
    }
}

}  // namespace FASTDESCENT_ARCH
}  // namespace fastdescent
