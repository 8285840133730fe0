//! otklik-import (being written).
