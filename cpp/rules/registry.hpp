// Every update rule, registered once: ``Rules`` for the step optimizers (fastdescent.optim),
// ``FitRules`` for the fused fits (the rules python/fastdescent/_plan.py may put in a FitPlan).
#pragma once

#include "rules/asgd.hpp"
#include "rules/sag.hpp"
#include "rules/sgd.hpp"
#include "type_list.hpp"

namespace fastdescent {

using Rules = TypeList<rules::Sgd, rules::Asgd, rules::Sag>;
using FitRules = TypeList<rules::Sgd>;

}  // namespace fastdescent
