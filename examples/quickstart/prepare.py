"""Write scikit-learn's bundled digits data set to data/digits.csv.

The CSV is the project's data: `gitexp add data/digits.csv` keeps it in gitexp's
cache (not in git) and records its hash in data/digits.csv.gitexp, so every
experiment says which version of the data it trained on.
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

digits = load_digits()
table = np.column_stack([digits.data, digits.target]).astype(int)
Path("data").mkdir(exist_ok=True)
header = ",".join([f"px{i}" for i in range(digits.data.shape[1])] + ["label"])
np.savetxt("data/digits.csv", table, fmt="%d", delimiter=",", header=header, comments="")
print(f"wrote data/digits.csv: {table.shape[0]} images of {digits.data.shape[1]} pixels")
