import './base.css';
import './network.css';
import './classroom.css';
import './follow.css';
import './panel.css';
