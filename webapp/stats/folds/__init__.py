"""The folds the stats refresh runs in its transaction: SQL that adds new log and feedback rows to the totals."""
