#include "editlab/util/data_dir.h"

namespace editlab {

// EDITLAB_DATA_DIR: a compile definition of this file only (CMakeLists.txt).
std::filesystem::path data_dir() { return EDITLAB_DATA_DIR; }

}  // namespace editlab
